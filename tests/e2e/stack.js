// A countersign-server process of the test's own, on a fresh database with
// the demo seed, next to the stack's identity provider and PostgreSQL
// (scripts/test brings those up and exports their environment).
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { freePort } from './webdriver.js';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run through scripts/test (the stack's environment)`);
  return v;
};

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

export class Server {
  /** `extra`: more environment for every countersign-server command (e.g. COUNTERSIGN_CONFIG). */
  static async start(extra = {}) {
    const admin = env('COUNTERSIGN_DATABASE_URL');
    const database = `cs_app_e2e_${randomUUID().replaceAll('-', '')}`;
    execFileSync('psql', [admin, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${database}`]);
    const s = new Server();
    s.extra = extra;
    s.admin = admin;
    s.database = database;
    s.databaseUrl = `${admin.slice(0, admin.lastIndexOf('/'))}/${database}`;
    s.listen = `127.0.0.1:${await freePort()}`;
    s.url = `http://${s.listen}`;
    s.run(['migrate']);
    s.run(['seed', '--demo']);
    await s.serve();
    return s;
  }

  run(args) {
    return execFileSync(env('COUNTERSIGN_SERVER_BIN'), args, { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  }

  env() {
    return { ...process.env, ...this.extra, COUNTERSIGN_DATABASE_URL: this.databaseUrl, COUNTERSIGN_LISTEN: this.listen, COUNTERSIGN_METRICS_LISTEN: '127.0.0.1:0' };
  }

  async serve() {
    this.child = spawn(env('COUNTERSIGN_SERVER_BIN'), ['serve'], { env: this.env(), stdio: 'ignore' });
    for (let i = 0; i < 300; i += 1) {
      try {
        if ((await fetch(`${this.url}/readyz`)).ok) return;
      } catch { /* not yet */ }
      await sleep(100);
    }
    throw new Error('countersign-server did not become ready');
  }

  /** The API goes away: its port refuses connections. */
  async stop() {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }

  async restart() { await this.stop(); await this.serve(); }

  /** `countersign-server staff …` on this server's database. */
  staff(...args) { return this.run(['staff', ...args]); }

  async drop() {
    await this.stop();
    execFileSync('psql', [this.admin, '-qc', `DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`]);
  }
}
