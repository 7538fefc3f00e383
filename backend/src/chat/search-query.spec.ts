import { randomUUID } from 'node:crypto';
import { decodeCursor, encodeCursor, escapeHtml, parseSearch, renderHighlight } from './search-query.js';

describe('parseSearch', () => {
  test('words, phrases and -excluded stay text; from:/in: are taken out', () => {
    expect(parseSearch('hello "big dog" -cat')).toEqual({ text: 'hello "big dog" -cat', from: [], in: [] });
    expect(parseSearch('from:Ann deploy in:general  failed')).toEqual({ text: 'deploy failed', from: ['ann'], in: ['general'] });
    expect(parseSearch('FROM:@bob IN:"Team Room" x')).toEqual({ text: 'x', from: ['bob'], in: ['Team Room'] });
  });

  test('operators alone leave no text; repeats are kept once', () => {
    expect(parseSearch('from:ann from:ANN from:bob')).toEqual({ text: '', from: ['ann', 'bob'], in: [] });
    expect(parseSearch('in:a in:b')).toEqual({ text: '', from: [], in: ['a', 'b'] });
  });

  test('only whole tokens are operators; without a value it is text', () => {
    expect(parseSearch('xfrom:ann')).toEqual({ text: 'xfrom:ann', from: [], in: [] });
    expect(parseSearch('from: ann')).toEqual({ text: 'from: ann', from: [], in: [] });
    expect(parseSearch('in:""')).toEqual({ text: 'in:""', from: [], in: [] });
    expect(parseSearch('-from:ann')).toEqual({ text: '-from:ann', from: [], in: [] });
    expect(parseSearch('in:"unclosed room')).toEqual({ text: 'in:"unclosed room', from: [], in: [] });
  });
});

describe('search cursor', () => {
  test('round-trips, microseconds kept', () => {
    const c = { micros: '1764379123456789', seq: 42, id: randomUUID() };
    const s = encodeCursor(c);
    expect(s).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(s)).toEqual(c);
  });

  test('anything else is not a cursor', () => {
    const good = encodeCursor({ micros: '1', seq: 1, id: randomUUID() });
    for (const bad of [
      '',
      'x',
      '!!',
      `${good}=`,
      `${good}A`,
      Buffer.from('1:1:nope').toString('base64url'),
      Buffer.from(`1:-1:${randomUUID()}`).toString('base64url'),
    ])
      expect(decodeCursor(bad)).toBeUndefined();
    // The same bytes spelled differently: 40 bytes take 54 base64url characters, the last one's low 4 bits are padding.
    const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const alt = good.slice(0, -1) + abc[abc.indexOf(good.at(-1)!) ^ 1];
    expect(Buffer.from(alt, 'base64url').equals(Buffer.from(good, 'base64url'))).toBe(true);
    expect(decodeCursor(alt)).toBeUndefined();
  });
});

describe('highlight', () => {
  test('escapes the body and marks only the markers', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(renderHighlight('<script>alert(1)</script> \u0001hello\u0002')).toBe('&lt;script&gt;alert(1)&lt;/script&gt; <mark>hello</mark>');
    expect(renderHighlight('\u0001<b>\u0002 & <mark>')).toBe('<mark>&lt;b&gt;</mark> &amp; &lt;mark&gt;');
  });
});
