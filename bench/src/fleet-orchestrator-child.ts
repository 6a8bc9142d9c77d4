/**
 * Child process of fleet.bench.ts: runs one orchestrator and reports its own CPU time and memory
 * over IPC, so the numbers are the orchestrator's alone (the simulated agents live elsewhere).
 */
import { Orchestrator } from '@parlor/orchestrator';

const orch = new Orchestrator({
  host: '127.0.0.1',
  port: 0,
  agentKey: 'bench-agent-key-0123456789',
  adminKey: 'bench-admin-key-0123456789',
  pollMs: 1000,
  commandTimeoutMs: 10_000,
  maxSseStreams: 10,
  logLevel: 'warn',
});
await orch.listen();
let mark = process.cpuUsage();
let markAt = process.hrtime.bigint();
process.on('message', (m: { t: string }) => {
  if (m.t === 'mark') {
    mark = process.cpuUsage();
    markAt = process.hrtime.bigint();
    process.send!({ t: 'marked' });
  } else if (m.t === 'measure') {
    const cpu = process.cpuUsage(mark);
    const wallUs = Number(process.hrtime.bigint() - markAt) / 1000;
    const mem = process.memoryUsage();
    process.send!({ t: 'measured', cpuUs: cpu.user + cpu.system, wallUs, rss: mem.rss, heapUsed: mem.heapUsed, stats: orch.fleet.stats });
  } else if (m.t === 'stop') {
    void orch.shutdown().then(() => process.exit(0));
  }
});
process.send!({ t: 'ready', url: orch.url, agentUrl: orch.agentUrl });
