// The rehearsal's cluster DNS (what CoreDNS's kubernetes plugin answers), run as the
// kube-dns pod: A records from <state>/dns.json, which the rehearsal rewrites as Services and
// endpoints change; NXDOMAIN for any other name in the cluster domain; NODATA for other types
// of a known name; pod records <a-b-c-d>.<ns>.pod.<domain> ("pods insecure"). CoreDNS forwards
// names outside the cluster domain upstream; there is no upstream here, so they get NXDOMAIN,
// which is what an upstream answers for the ones a chart can get wrong (`<svc>.<ns>.svc`).
//   node dns-server.mjs <state-dir>     (UDP and TCP port 53)
import dgram from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

const file = join(process.argv[2], 'dns.json');
let state = { domain: 'cluster.local', records: {} };
let mtime = 0;
function current() {
  try {
    const m = statSync(file).mtimeMs;
    if (m !== mtime) {
      state = JSON.parse(readFileSync(file, 'utf8'));
      mtime = m;
    }
  } catch {
    // keep the last good state while the file is replaced
  }
  return state;
}

function readName(buf, off) {
  const labels = [];
  while (buf[off] !== 0) {
    if ((buf[off] & 0xc0) === 0xc0) throw new Error('compressed question');
    labels.push(buf.toString('latin1', off + 1, off + 1 + buf[off]));
    off += buf[off] + 1;
  }
  return { name: labels.join('.'), end: off + 1 };
}

const NOERROR = 0;
const NXDOMAIN = 3;
function answer(query) {
  const id = query.readUInt16BE(0);
  const { name, end } = readName(query, 12);
  const qtype = query.readUInt16BE(end);
  const question = query.subarray(12, end + 4);
  const { domain, records } = current();
  const lower = name.toLowerCase();
  let rcode = NOERROR;
  let ips = [];
  const pod = new RegExp(`^(\\d+)-(\\d+)-(\\d+)-(\\d+)\\.[a-z0-9-]+\\.pod\\.${domain.replace(/\./g, '\\.')}$`).exec(lower);
  if (records[lower]) ips = records[lower];
  else if (pod) ips = [pod.slice(1, 5).join('.')];
  else rcode = NXDOMAIN;
  const answers = qtype === 1 || qtype === 255 ? ips : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8000 | 0x0400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2); // QR AA RD RA
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const rrs = answers.map((ip) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the question's name
    rr.writeUInt16BE(1, 2); // A
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(30, 6); // TTL as CoreDNS's default Corefile
    rr.writeUInt16BE(4, 10);
    ip.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
    return rr;
  });
  if (process.env.DNS_LOG) console.log(`${name} ${qtype} -> ${rcode === NXDOMAIN ? 'NXDOMAIN' : answers.join(',') || 'NODATA'}`);
  return Buffer.concat([header, question, ...rrs]);
}

const udp = dgram.createSocket('udp4');
udp.on('message', (msg, rinfo) => {
  try {
    udp.send(answer(msg), rinfo.port, rinfo.address);
  } catch {
    // a malformed query gets no answer
  }
});
udp.bind(53, '0.0.0.0');
net
  .createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const q = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + q.length);
        try {
          const a = answer(q);
          const len = Buffer.alloc(2);
          len.writeUInt16BE(a.length);
          sock.write(Buffer.concat([len, a]));
        } catch {
          sock.destroy();
        }
      }
    });
    sock.on('error', () => sock.destroy());
  })
  .listen(53, '0.0.0.0');
console.log(`cluster DNS for ${current().domain} on :53`);
