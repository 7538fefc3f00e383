import { cleanName, contentDisposition, sniff, TextCheck } from './file-types.js';

describe('file names and types', () => {
  it('keeps only the last path segment, without control or bidi characters', () => {
    expect(cleanName('../../etc/passwd')).toBe('passwd');
    expect(cleanName('C:\\Users\\x\\a\u202egnp.exe')).toBe('agnp.exe');
    expect(cleanName('\u0000\n')).toBe('file');
    expect(cleanName(undefined)).toBe('file');
    expect([...cleanName('é'.repeat(500))].length).toBe(200);
  });

  it('Content-Disposition never lets a quote, backslash or newline out of the quoted name', () => {
    expect(contentDisposition('attachment', 'a"b\\c;d%e.txt')).toBe(`attachment; filename="a_b_c_d_e.txt"; filename*=UTF-8''a%22b%5Cc%3Bd%25e.txt`);
    expect(contentDisposition('inline', "it's (1).png")).toBe(`inline; filename="it's (1).png"; filename*=UTF-8''it%27s%20%281%29.png`);
  });

  it('plain text is UTF-8 without NUL, even split in the middle of a character', async () => {
    const t = new TextCheck();
    const e = Buffer.from('é');
    t.push(e.subarray(0, 1));
    t.push(e.subarray(1));
    expect(t.end()).toBe(true);
    const cut = new TextCheck();
    cut.push(e.subarray(0, 1));
    expect(cut.end()).toBe(false);
    expect(await sniff(Buffer.from('<html><script>x</script></html>'))).toEqual({ type: 'text/plain', allowed: true });
    // SVG is text to file-type: it is kept as text/plain, so it is served as a download, never as an image.
    expect(await sniff(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>'))).toEqual({ type: 'text/plain', allowed: true });
  });
});
