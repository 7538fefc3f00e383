// A Kubernetes Service stand-in for the rehearsal: listens on each Service port and spreads
// connections round-robin over the pods behind it.
//   node service-proxy.mjs 80=podA:8080,podB:8080 [3000=...]
import net from 'node:net';

for (const spec of process.argv.slice(2)) {
  const [port, targets] = spec.split('=');
  const backends = targets.split(',').map((t) => {
    const i = t.lastIndexOf(':');
    return { host: t.slice(0, i), port: Number(t.slice(i + 1)) };
  });
  let next = 0;
  net
    .createServer((client) => {
      const tryConnect = (attempt) => {
        const b = backends[next++ % backends.length];
        const upstream = net.connect(b.port, b.host);
        upstream.once('connect', () => client.pipe(upstream).pipe(client));
        upstream.on('error', () => (attempt < backends.length ? tryConnect(attempt + 1) : client.destroy()));
        client.on('error', () => upstream.destroy());
        client.on('close', () => upstream.destroy());
      };
      tryConnect(1);
    })
    .listen(Number(port), '0.0.0.0');
}
