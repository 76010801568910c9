// A stand-in for an Elasticsearch node that does no work: it answers the calls the store makes
// (info, component and index templates, _bulk) and reads every request body to the end. Run as
// a child process, so its CPU is not counted against the process being measured.
// Prints `NULL_ES_URL=http://127.0.0.1:PORT` once listening.
import { createServer } from 'node:http';

const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
  res.end(JSON.stringify(body));
};

const server = createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/') {
      return json(res, 200, { name: 'null-es', cluster_name: 'null', version: { number: '8.14.3', build_flavor: 'default' }, tagline: 'You Know, for Search' });
    }
    if (path === '/_bulk' && req.method === 'POST') return json(res, 200, { took: 0, errors: false, bytes });
    if (path.startsWith('/_component_template/') || path.startsWith('/_index_template/')) return json(res, 200, { acknowledged: true });
    return json(res, 404, { error: { type: 'null_es', reason: `${req.method} ${path} is not answered by the null node` }, status: 404 });
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`NULL_ES_URL=http://127.0.0.1:${server.address().port}\n`));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
