import MarkdownIt, { type Token } from 'markdown-it';
import { h, type ComponentChild } from 'preact';
import { splitMentions } from './people';

/**
 * Message bodies are Markdown (CommonMark, GFM strikethrough, autolinks, fenced code, tables).
 * markdown-it parses them into tokens; we never use its HTML output. The tokens are turned into
 * a small tree of allow-listed elements (below) that the screen renders as DOM nodes, so no
 * string of the message ever reaches innerHTML, and raw HTML in a message stays text.
 */
export type MdNode = string | { tag: MdTag; attrs?: Record<string, string>; children: MdNode[] } | { mention: 'me' | 'other'; text: string };

/** Every element a message may contain. Headings become a bold paragraph (no page headings in the log). */
export const ALLOWED_TAGS = [
  'p',
  'br',
  'strong',
  'em',
  's',
  'code',
  'pre',
  'blockquote',
  'ul',
  'ol',
  'li',
  'hr',
  'a',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
] as const;
export type MdTag = (typeof ALLOWED_TAGS)[number];
const TAGS = new Set<string>(ALLOWED_TAGS);

/** Attributes an element may carry, per tag (a link's target and rel are fixed). */
export const ALLOWED_ATTRS: Record<string, readonly string[]> = {
  a: ['href', 'target', 'rel', 'class'],
  ol: ['start'],
  th: ['class'],
  td: ['class'],
  p: ['class'],
};

/**
 * Only absolute http(s) and mailto links. Any control character or space is refused too:
 * browsers drop tabs and newlines inside a URL, so `jav&#x09;ascript:` would be a script.
 */
export function safeHref(href: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f-\u009f]/.test(href)) return false;
  return /^(https?:\/\/[^/]|mailto:[^/])/i.test(href);
}

const md = new MarkdownIt('default', { html: false, linkify: true, typographer: false });
// A link markdown-it would not create stays the literal text the sender typed.
md.validateLink = (url) => safeHref(md.normalizeLink(url));

type Element = Extract<MdNode, { tag: MdTag }>;

const LINK = { target: '_blank', rel: 'noopener noreferrer nofollow' };
const ALIGN: Record<string, string> = { 'text-align:left': 'align-left', 'text-align:center': 'align-center', 'text-align:right': 'align-right' };

function text(out: MdNode[], s: string, me: string, mentions: boolean) {
  if (!s) return;
  if (!mentions) return void out.push(s);
  for (const p of splitMentions(s, me)) out.push(p.mention ? { mention: p.mention, text: p.text } : p.text);
}

/** Block and inline tokens into the tree; an open token pushes an element, its close pops it. */
function build(tokens: Token[], root: MdNode[], me: string) {
  const stack: Array<{ el: Element | null; out: MdNode[] }> = [{ el: null, out: root }];
  const top = () => stack[stack.length - 1];
  let inLink = 0;
  for (const t of tokens) {
    const out = top().out;
    if (t.nesting === 1) {
      let el: Element | null;
      // A tight list's paragraphs are hidden: their text goes straight into the item.
      if (t.hidden) el = null;
      else if (t.type === 'heading_open') el = { tag: 'p', attrs: { class: 'md-heading' }, children: [] };
      else if (t.type === 'link_open') {
        const href = String(t.attrGet('href') ?? '');
        // Refused links keep their text without the link (validateLink already stops most).
        el = safeHref(href) ? { tag: 'a', attrs: { href, ...LINK }, children: [] } : null;
        inLink++;
      } else if (TAGS.has(t.tag)) {
        el = { tag: t.tag as MdTag, children: [] };
        const start = String(t.attrGet('start') ?? '');
        if (t.tag === 'ol' && start && /^\d{1,9}$/.test(start)) el.attrs = { start };
        const align = ALIGN[String(t.attrGet('style') ?? '')];
        if ((t.tag === 'th' || t.tag === 'td') && align) el.attrs = { class: align };
      } else el = { tag: 'p', children: [] };
      if (el) out.push(el);
      // An element that was not made still needs its own level, so its close pops the right one.
      stack.push({ el, out: el ? el.children : out });
      continue;
    }
    if (t.nesting === -1) {
      if (t.type === 'link_close') inLink--;
      if (stack.length > 1) stack.pop();
      continue;
    }
    switch (t.type) {
      case 'inline':
        build(t.children ?? [], out, me);
        break;
      case 'text':
        text(out, t.content, me, inLink === 0);
        break;
      case 'code_inline':
        out.push({ tag: 'code', children: [t.content] });
        break;
      case 'fence':
      case 'code_block':
        out.push({ tag: 'pre', children: [{ tag: 'code', children: [t.content.replace(/\n$/, '')] }] });
        break;
      case 'softbreak':
        // The body keeps white space (pre-wrap): a newline the sender typed shows as one.
        out.push('\n');
        break;
      case 'hardbreak':
        out.push({ tag: 'br', children: [] });
        break;
      case 'hr':
        out.push({ tag: 'hr', children: [] });
        break;
      case 'image': {
        // Never loaded: an image becomes a link to it, named by its alt text.
        const src = String(t.attrGet('src') ?? '');
        const alt = t.content || src;
        if (safeHref(src)) out.push({ tag: 'a', attrs: { href: src, ...LINK, class: 'md-image' }, children: [`🖼 ${alt}`] });
        else text(out, alt, me, false);
        break;
      }
      default:
        // html_inline / html_block cannot occur with html: false; anything else shows its source.
        text(out, t.content, me, false);
    }
  }
}

/** The message body as a tree of allow-listed elements, text and @mentions (`me`: my username). */
export function markdownTree(body: string, me: string): MdNode[] {
  const root: MdNode[] = [];
  build(md.parse(body, {}), root, me);
  return root;
}

/**
 * A last check before anything is rendered: drops elements outside the allow-list (keeping
 * their text), attributes not allowed for their tag, and links that are not http(s)/mailto.
 */
export function sanitize(nodes: MdNode[]): MdNode[] {
  const out: MdNode[] = [];
  for (const n of nodes) {
    if (typeof n === 'string' || 'mention' in n) {
      out.push(n);
      continue;
    }
    const children = sanitize(n.children);
    if (!TAGS.has(n.tag) || (n.tag === 'a' && !safeHref(n.attrs?.href ?? ''))) {
      out.push(...children);
      continue;
    }
    const allowed = ALLOWED_ATTRS[n.tag] ?? [];
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(n.attrs ?? {})) if (allowed.includes(k)) attrs[k] = v;
    if (n.tag === 'a') Object.assign(attrs, LINK);
    out.push({ tag: n.tag, attrs, children });
  }
  return out;
}

/** The tree as Preact nodes (text stays text nodes); sanitised once more on the way. */
export function toVNodes(nodes: MdNode[]): ComponentChild[] {
  return vnodes(sanitize(nodes), '');
}

/** Already sanitised nodes (sanitize walks the whole tree) as Preact nodes. */
function vnodes(nodes: MdNode[], key: string): ComponentChild[] {
  return nodes.map((n, i): ComponentChild => {
    if (typeof n === 'string') return n;
    if ('mention' in n)
      return h(
        'span',
        { key: `${key}${i}`, class: `at ${n.mention === 'me' ? 'at-me' : ''}`, 'data-testid': n.mention === 'me' ? 'mention-me' : 'mention' },
        n.text,
      );
    return h(n.tag, { key: `${key}${i}`, ...n.attrs }, ...vnodes(n.children, `${key}${i}.`));
  });
}
