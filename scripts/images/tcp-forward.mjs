// Lets containers on a podman bridge reach a service that listens on the host's loopback
// only (the machine's PostgreSQL): node tcp-forward.mjs <listen-port> <target-host:port>.
// Accepts connections from loopback and private (container) addresses only.
import net from 'node:net';

const [listenPort, target] = process.argv.slice(2);
const [host, port] = target.split(':');
const allowed = (a) => /^(::ffff:)?(127\.|10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.)/.test(a) || a === '::1';
const server = net.createServer((client) => {
  if (!allowed(client.remoteAddress ?? '')) return client.destroy();
  const upstream = net.connect(Number(port), host);
  client.pipe(upstream).pipe(client);
  const close = () => (client.destroy(), upstream.destroy());
  client.on('error', close);
  upstream.on('error', close);
});
server.listen(Number(listenPort), '0.0.0.0', () => console.log(`forwarding :${listenPort} -> ${target}`));
