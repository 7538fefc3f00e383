import type { VNode } from 'preact';
import { describe, expect, it } from 'vitest';
import { ALLOWED_ATTRS, ALLOWED_TAGS, markdownTree, safeHref, sanitize, toVNodes, type MdNode } from './markdown';

/** Flattens rendered Preact nodes into elements (tag, attributes) and the text they show. */
function walk(nodes: Array<VNode | string>, els: Array<{ tag: string; props: Record<string, unknown> }> = [], texts: string[] = []) {
  for (const n of nodes) {
    if (typeof n === 'string') {
      texts.push(n);
      continue;
    }
    const { children, ...props } = n.props as Record<string, unknown>;
    els.push({ tag: String(n.type), props });
    const kids = (Array.isArray(children) ? children.flat(Infinity) : children === undefined ? [] : [children]) as Array<VNode | string>;
    walk(kids, els, texts);
  }
  return { els, texts: texts.join('') };
}

const render = (body: string, me = 'alice') => walk(toVNodes(markdownTree(body, me)) as Array<VNode | string>);

const CORPUS = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<svg onload=alert(1)><circle r="1"/></svg>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '<a href="javascript:alert(1)">x</a>',
  '<p style="background:url(javascript:alert(1))">styled</p>',
  '<div>\n\n*raw html block*\n\n</div>',
  '[click](javascript:alert(1))',
  '[click](JaVaScRiPt:alert(1))',
  '[click](jav&#x09;ascript:alert(1))',
  '[click](jav&#9;ascript:alert(1))',
  '[click](&#106;avascript:alert(1))',
  '[click]( javascript:alert(1))',
  '[click](<javascript:alert(1)>)',
  '[click](vbscript:msgbox(1))',
  '[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '[click](file:///etc/passwd)',
  '[click](//evil.example/x)',
  '[click](/api/chat/rooms)',
  '<javascript:alert(1)>',
  'javascript:alert(1)',
  '[x](http://a.example/" onmouseover="alert(1))',
  '[x](http://a.example/ "title\\" onmouseover=alert(1) x=\\"")',
  '![x](http://a.example/i.png" onerror="alert(1))',
  '![x](javascript:alert(1))',
  '![x](data:image/png;base64,iVBORw0KGgo=)',
  '[x]: javascript:alert(1)\n\n[x]',
  '&lt;script&gt;alert(1)&lt;/script&gt; &#60;img src=x onerror=alert(1)&#62;',
  '<style>body{display:none}</style>',
  '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
  '<details open ontoggle=alert(1)>',
  '``<img src=x onerror=alert(1)>``',
  '```html\n<script>alert(1)</script>\n```',
  '| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |',
  '**<b onclick=alert(1)>bold</b>**',
];

describe('markdown: XSS corpus', () => {
  for (const body of CORPUS) {
    it(`is inert: ${JSON.stringify(body).slice(0, 60)}`, () => {
      const { els } = render(body);
      for (const { tag, props } of els) {
        expect([...ALLOWED_TAGS, 'span']).toContain(tag);
        for (const [k, v] of Object.entries(props)) {
          expect(k).not.toMatch(/^on/i);
          expect(k).not.toBe('style');
          expect(k).not.toBe('dangerouslySetInnerHTML');
          if (tag !== 'span') expect([...(ALLOWED_ATTRS[tag] ?? []), 'key']).toContain(k);
          if (k === 'href') expect(String(v)).toMatch(/^(https?:\/\/|mailto:)/);
        }
      }
    });
  }

  it('shows raw HTML as the text it is', () => {
    expect(render('<script>alert(1)</script>').texts).toBe('<script>alert(1)</script>');
    expect(render('a <b>x</b>').texts).toBe('a <b>x</b>');
    expect(render('&lt;b&gt; &amp; &copy;').texts).toBe('<b> & ©');
  });

  it('keeps a refused link as text, without a link', () => {
    const r = render('[click](javascript:alert(1))');
    expect(r.els.map((e) => e.tag)).toEqual(['p']);
    expect(r.texts).toBe('[click](javascript:alert(1))');
    expect(render('[a](jav&#x09;ascript:alert(1))').els.some((e) => e.tag === 'a')).toBe(false);
    expect(render('javascript:alert(1)').els.some((e) => e.tag === 'a')).toBe(false);
  });

  it('turns images into a link to them, never an img', () => {
    const r = render('![cat](https://img.example/cat.png)');
    expect(r.els.map((e) => e.tag)).toEqual(['p', 'a']);
    expect(r.els[1].props.href).toBe('https://img.example/cat.png');
    expect(r.els[1].props.class).toBe('md-image');
    expect(r.texts).toBe('🖼 cat');
  });

  it('sanitize drops what the parser could never make', () => {
    const evil = [
      { tag: 'script', children: ['alert(1)'] },
      { tag: 'a', attrs: { href: 'javascript:alert(1)', onclick: 'x' }, children: ['x'] },
      { tag: 'p', attrs: { onclick: 'x', style: 'color:red', class: 'ok' }, children: [{ tag: 'img', attrs: { src: 'x' }, children: [] }] },
    ] as unknown as MdNode[];
    expect(sanitize(evil)).toEqual(['alert(1)', 'x', { tag: 'p', attrs: { class: 'ok' }, children: [] }]);
  });

  it('safeHref allows only absolute http(s) and mailto', () => {
    for (const ok of ['http://a.example', 'https://a.example/x?y=1', 'mailto:a@b.example']) expect(safeHref(ok)).toBe(true);
    for (const bad of [
      'javascript:alert(1)',
      'jav\tascript:alert(1)',
      ' https://a.example',
      'https://a.example/\nx',
      '//a.example',
      '/x',
      'data:text/html,x',
      'http:/x',
      '',
    ])
      expect(safeHref(bad)).toBe(false);
  });
});

describe('markdown: features', () => {
  const tags = (body: string) => render(body).els.map((e) => e.tag);

  it('emphasis, strong, strikethrough, inline code', () => {
    expect(tags('*a* **b** ~~c~~ `d`')).toEqual(['p', 'em', 'strong', 's', 'code']);
  });

  it('links open in a new tab without an opener', () => {
    const a = render('[x](https://a.example/) and https://b.example/p?q=1 and x@y.example').els.filter((e) => e.tag === 'a');
    expect(a.map((e) => e.props.href)).toEqual(['https://a.example/', 'https://b.example/p?q=1', 'mailto:x@y.example']);
    for (const e of a) expect(e.props).toMatchObject({ target: '_blank', rel: 'noopener noreferrer nofollow' });
  });

  it('fenced code keeps its text verbatim, no mentions or links inside', () => {
    const r = render('```\nconst a = "<b>" // @alice https://x.example\n  indented\n```');
    expect(r.els.map((e) => e.tag)).toEqual(['pre', 'code']);
    expect(r.texts).toBe('const a = "<b>" // @alice https://x.example\n  indented');
  });

  it('tables, with alignment as a class', () => {
    const r = render('| a | b |\n|:-|-:|\n| 1 | 2 |');
    expect(r.els.map((e) => e.tag)).toEqual(['table', 'thead', 'tr', 'th', 'th', 'tbody', 'tr', 'td', 'td']);
    expect(r.els[3].props.class).toBe('align-left');
    expect(r.els[4].props.class).toBe('align-right');
  });

  it('lists, quotes, rules, headings as bold paragraphs, line breaks', () => {
    expect(tags('> q\n\n- a\n- b\n\n3. c\n\n---\n\n# H')).toEqual(['blockquote', 'p', 'ul', 'li', 'li', 'ol', 'li', 'hr', 'p']);
    expect(render('3. c').els[0].props.start).toBe('3');
    expect(render('# H').els[0].props.class).toBe('md-heading');
    expect(render('one\ntwo')).toEqual({ els: [{ tag: 'p', props: {} }], texts: 'one\ntwo' });
    expect(tags('one\\\ntwo')).toEqual(['p', 'br']);
  });

  it('highlights mentions in text, mine apart from others', () => {
    const spans = render('hi @alice and **@bob**, `@carol`').els.filter((e) => e.tag === 'span');
    expect(spans.map((e) => e.props['data-testid'])).toEqual(['mention-me', 'mention']);
  });
});
