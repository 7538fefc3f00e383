// GitHub Actions `${{ }}` expressions, strictly: literals, contexts, property access, the
// operators and the functions the documentation lists. Anything it cannot evaluate (an
// unknown context or property, an unsupported function) throws, so a runner using it fails
// loudly instead of guessing. https://docs.github.com/en/actions/reference/evaluate-expressions-in-workflows-and-actions
export class ExpressionError extends Error {}

function tokenize(src) {
  const tokens = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === "'") {
      let s = '';
      i += 1;
      for (;;) {
        if (i >= src.length) throw new ExpressionError(`unterminated string in: ${src}`);
        if (src[i] === "'" && src[i + 1] === "'") {
          s += "'";
          i += 2;
        } else if (src[i] === "'") {
          i += 1;
          break;
        } else s += src[i++];
      }
      tokens.push({ t: 'str', v: s });
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^-?(0x[0-9a-f]+|[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?)/i.exec(src.slice(i));
      tokens.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i));
      tokens.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else {
      const op = ['==', '!=', '<=', '>=', '&&', '||'].find((o) => src.startsWith(o, i)) ?? c;
      if (!['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', '.', ',', '*'].includes(op))
        throw new ExpressionError(`unexpected "${c}" in: ${src}`);
      tokens.push({ t: 'op', v: op });
      i += op.length;
    }
  }
  return tokens;
}

const truthy = (v) => !(v === false || v === 0 || v === '' || v === null || v === undefined || Number.isNaN(v));
const toNum = (v) => {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return v.trim() === '' ? 0 : Number(v);
  return NaN;
};
function looseEq(a, b) {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if (typeof a === 'object' && a !== null) return a === b;
  if (typeof b === 'object' && b !== null) return false;
  return toNum(a) === toNum(b);
}
export function toText(v, where) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return v;
  throw new ExpressionError(`${where}: an object or array cannot be interpolated as text (use toJSON)`);
}

/**
 * Evaluates one expression (without the `${{ }}`). ctx: { contexts: {name: value|resolver},
 * status: () => 'success'|'failure'|'cancelled' }. A context value may be a function
 * (path) => value that throws for what it does not know.
 */
export function evaluate(src, ctx) {
  const tokens = tokenize(src);
  let p = 0;
  const peek = () => tokens[p];
  const isOp = (v) => peek()?.t === 'op' && peek().v === v;
  const expect = (v) => {
    if (!isOp(v)) throw new ExpressionError(`expected "${v}" in: ${src}`);
    p += 1;
  };
  const fail = (msg) => {
    throw new ExpressionError(`${msg} in: ${src}`);
  };

  function or() {
    let v = and();
    while (isOp('||')) {
      p += 1;
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  }
  function and() {
    let v = eq();
    while (isOp('&&')) {
      p += 1;
      const r = eq();
      v = truthy(v) ? r : v;
    }
    return v;
  }
  function eq() {
    let v = cmp();
    while (isOp('==') || isOp('!=')) {
      const op = tokens[p++].v;
      const r = cmp();
      v = op === '==' ? looseEq(v, r) : !looseEq(v, r);
    }
    return v;
  }
  function cmp() {
    let v = unary();
    while (['<', '<=', '>', '>='].some(isOp)) {
      const op = tokens[p++].v;
      const r = unary();
      const [a, b] = typeof v === 'string' && typeof r === 'string' ? [v.toLowerCase(), r.toLowerCase()] : [toNum(v), toNum(r)];
      v = op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
    }
    return v;
  }
  function unary() {
    if (isOp('!')) {
      p += 1;
      return !truthy(unary());
    }
    return postfix();
  }
  function access(obj, key, path) {
    if (typeof obj === 'function') return obj(key, path);
    if (obj === null || typeof obj !== 'object') fail(`cannot read "${key}" of ${path} (${JSON.stringify(obj)})`);
    const found = Object.keys(obj).find((k) => k.toLowerCase() === String(key).toLowerCase());
    if (found === undefined) fail(`unknown property ${path}.${key}`);
    return obj[found];
  }
  function postfix() {
    let { v, path } = primary();
    for (;;) {
      if (isOp('.')) {
        p += 1;
        const t = tokens[p++];
        if (t?.t === 'op' && t.v === '*') fail('object filters (.*) are not supported');
        if (t?.t !== 'id' && t?.t !== 'num') fail('expected a property name');
        v = access(v, String(t.v), path);
        path = `${path}.${t.v}`;
      } else if (isOp('[')) {
        p += 1;
        if (isOp('*')) fail('object filters ([*]) are not supported');
        const k = or();
        expect(']');
        v = access(v, k, path);
        path = `${path}[${JSON.stringify(k)}]`;
      } else return v;
    }
  }
  function primary() {
    const t = tokens[p++];
    if (!t) fail('unexpected end');
    if (t.t === 'str' || t.t === 'num') return { v: t.v, path: JSON.stringify(t.v) };
    if (t.t === 'op' && t.v === '(') {
      const v = or();
      expect(')');
      return { v, path: '(…)' };
    }
    if (t.t !== 'id') fail(`unexpected "${t.v}"`);
    if (t.v === 'true' || t.v === 'false') return { v: t.v === 'true', path: t.v };
    if (t.v === 'null') return { v: null, path: 'null' };
    if (isOp('(')) {
      p += 1;
      const args = [];
      while (!isOp(')')) {
        args.push(or());
        if (isOp(',')) p += 1;
        else if (!isOp(')')) fail('expected "," or ")"');
      }
      p += 1;
      return { v: call(t.v, args), path: `${t.v}()` };
    }
    if (!(t.v in ctx.contexts)) fail(`unknown context "${t.v}"`);
    return { v: ctx.contexts[t.v], path: t.v };
  }
  function call(name, args) {
    const s = (x) => toText(x, name);
    switch (name.toLowerCase()) {
      case 'success':
        return ctx.status() === 'success';
      case 'failure':
        return ctx.status() === 'failure';
      case 'cancelled':
        return ctx.status() === 'cancelled';
      case 'always':
        return true;
      case 'contains':
        return Array.isArray(args[0]) ? args[0].some((x) => looseEq(x, args[1])) : s(args[0]).toLowerCase().includes(s(args[1]).toLowerCase());
      case 'startswith':
        return s(args[0]).toLowerCase().startsWith(s(args[1]).toLowerCase());
      case 'endswith':
        return s(args[0]).toLowerCase().endsWith(s(args[1]).toLowerCase());
      case 'format':
        return s(args[0]).replace(/\{(\d+)\}/g, (_, i) => s(args[Number(i) + 1]));
      case 'join':
        return Array.isArray(args[0]) ? args[0].map(s).join(args.length > 1 ? s(args[1]) : ',') : s(args[0]);
      case 'tojson':
        return JSON.stringify(args[0], null, 2);
      case 'fromjson':
        return JSON.parse(s(args[0]));
      default:
        return fail(`unsupported function ${name}()`);
    }
  }
  const v = or();
  if (p !== tokens.length) fail(`unexpected "${tokens[p].v}"`);
  return v;
}

/** Replaces every `${{ … }}` in a string; a string that is exactly one expression keeps its type. */
export function interpolate(text, ctx, where = 'value') {
  if (typeof text !== 'string') return text;
  const whole = /^\s*\$\{\{([\s\S]*?)\}\}\s*$/.exec(text);
  try {
    if (whole && !whole[1].includes('}}')) return evaluate(whole[1], ctx);
    return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, e) => toText(evaluate(e, ctx), where));
  } catch (e) {
    if (e instanceof ExpressionError) throw new ExpressionError(`${where}: ${e.message}`);
    throw e;
  }
}

/** An `if:` condition: with or without `${{ }}`; GitHub adds success() unless a status function is used. */
export function condition(text, ctx, where) {
  if (text === undefined || text === null) return ctx.status() === 'success';
  if (typeof text === 'boolean') return text && ctx.status() === 'success';
  let src = String(text).trim();
  const m = /^\$\{\{([\s\S]*)\}\}$/.exec(src);
  if (m) src = m[1];
  if (!/\b(success|failure|cancelled|always)\s*\(/.test(src)) src = `success() && (${src})`;
  try {
    return truthy(evaluate(src, ctx));
  } catch (e) {
    if (e instanceof ExpressionError) throw new ExpressionError(`${where}: ${e.message}`);
    throw e;
  }
}
