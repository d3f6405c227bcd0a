// A stand-in for the npm registry's advisory service, for scripts/gates.d/check
// only: the registry this machine reaches answers 405 to npm audit's POST, and
// the public advisory data changes from day to day, so the check's npm gate asks
// this instead. It answers npm audit's bulk request from the advisories below
// (real ones, copied with their ids) and serves the packuments npm then reads
// to weigh them; anything else is 404, so the check sees it if npm asks more.
// Prints the URL it listens on, then serves until killed.
import http from 'node:http';
import zlib from 'node:zlib';

const advisories = {
  lodash: [
    {
      id: 1106913,
      url: 'https://github.com/advisories/GHSA-35jh-r3h4-6jhm',
      title: 'Command Injection in lodash',
      severity: 'high',
      vulnerable_versions: '<4.17.21',
      cwe: ['CWE-77', 'CWE-94'],
      cvss: { score: 7.2, vectorString: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H' },
    },
  ],
};

const packument = (name, versions, latest) => ({
  name,
  'dist-tags': { latest },
  versions: Object.fromEntries(
    versions.map((version) => [
      version,
      { name, version, dist: { tarball: `http://127.0.0.1/${name}/-/${name}-${version}.tgz` } },
    ]),
  ),
});
const packuments = { lodash: packument('lodash', ['4.17.20', '4.17.21'], '4.17.21') };

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '');
    if (req.method === 'POST' && path === '-/npm/v1/security/advisories/bulk') {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = zlib.gunzipSync(raw);
      const asked = JSON.parse(raw.toString('utf8') || '{}');
      const found = Object.fromEntries(
        Object.keys(asked).filter((name) => advisories[name]).map((name) => [name, advisories[name]]),
      );
      process.stderr.write(`advisory-stub: bulk request for ${Object.keys(asked).length} packages\n`);
      return send(200, found);
    }
    if (req.method === 'GET' && packuments[path]) return send(200, packuments[path]);
    process.stderr.write(`advisory-stub: 404 for ${req.method} /${path}\n`);
    return send(404, { error: 'not found' });
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${server.address().port}/\n`);
});
