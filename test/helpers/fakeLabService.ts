import type { ProgressEvent, RunRecord } from '../../src/core/protocol/run';
import { toRunSummary } from '../../src/core/protocol/runSummary';
import { trainConfigSchema } from '../../src/core/protocol/run';
import type { FlowPreset, ILabService } from '../../src/core/protocol/service';
import { InputError } from '../../src/core/util/errors';
import { LAB_METHODS } from '../../src/core/protocol/methods';
import { parseServiceArgs, type ServiceArgs } from '../../src/core/protocol/serviceArgs';
import { SWEEP_DEFAULTS, type SweepDetail } from '../../src/core/protocol/sweeps';

/**
 * An in-memory ILabService for transport tests (HTTP, IPC): it answers instantly and records calls, so the tests
 * check what the transports do — errors, auth, events — not training. It validates as the real service does. Never used by the product.
 */
export interface FakeLabService extends ILabService {
  calls: { method: string; arg: unknown }[];
  emit(e: ProgressEvent): void;
  listenerCount(): number;
}

export function createFakeLabService(): FakeLabService {
  const listeners = new Set<(e: ProgressEvent) => void>();
  const calls: { method: string; arg: unknown }[] = [];
  const runs = new Map<string, RunRecord>();
  let flows: FlowPreset[] = [];
  const sweeps = new Map<string, SweepDetail>();
  const getSweep = (id: string) => {
    const d = sweeps.get(id);
    if (!d) throw new InputError('id', `no sweep ${id}`);
    return d;
  };
  const record = (method: string, arg?: unknown) => calls.push({ method, arg });
  const get = (id: string) => {
    const r = runs.get(id);
    if (!r) throw new InputError('run', `no run ${id}`);
    return r;
  };
  const svc: FakeLabService = {
    calls,
    emit: (e) => listeners.forEach((l) => l(e)),
    listenerCount: () => listeners.size,
    async info() {
      record('info');
      return { version: 'fake', storeRoot: '/nowhere', backends: [{ name: 'cpu', available: true, detail: 'fake' }], shell: { kind: 'web' } };
    },
    async listRuns() {
      record('listRuns');
      return { runs: [...runs.values()].map(toRunSummary), problems: [] };
    },
    async getRun(req) {
      record('getRun', req);
      return { run: get(req.id), metrics: [], evaluations: [], evals: {} };
    },
    async startRun(req) {
      record('startRun', req);
      const now = new Date().toISOString();
      const rec: RunRecord = {
        format: 'fernn-lab-run',
        formatVersion: 1,
        id: `fake-${runs.size + 1}`,
        createdAt: now,
        updatedAt: now,
        status: 'queued',
        config: trainConfigSchema.parse(req.config),
        seeds: { init: 0, data: 1 },
        backend: null,
        versions: {},
        params: 0,
        owner: null,
        progress: { step: 0, epoch: 0, lastTrainLoss: null, bestValMse: null, bestStep: null, checkpointStep: null },
        timings: { startedAt: null, endedAt: null, trainMs: 0, msPerStepMedian: null },
      };
      runs.set(rec.id, rec);
      return rec;
    },
    async stopRun(req) {
      record('stopRun', req);
      return { ...get(req.id), status: 'cancelled' };
    },
    async resumeRun(req) {
      record('resumeRun', req);
      return { ...get(req.id), status: 'running' };
    },
    async trainLonger(req) {
      record('trainLonger', req);
      const r = get(req.id);
      if (r.status !== 'completed') throw new InputError('id', `run ${req.id} is ${r.status}: only a completed run can train longer`);
      return { ...r, status: 'queued', config: { ...r.config, steps: req.steps } };
    },
    async deleteRun(req) {
      record('deleteRun', req);
      get(req.id);
      runs.delete(req.id);
      return { deleted: req.id };
    },
    async evaluateRun(req) {
      record('evaluateRun', req);
      get(req.id);
      return { runId: req.id };
    },
    async estimateRun(req) {
      record('estimateRun', req);
      return { backend: 'cpu', backendDetail: 'fake', msPerStep: 1, totalSec: 1, basis: 'fake' };
    },
    async probeEquivariance(req) {
      record('probeEquivariance', req);
      return { flow: req.flow, input: { shape: [1, 1, 1], data: [0] }, flowed: { shape: [1, 1, 1], data: [0] }, models: [] };
    },
    async previewFlow(req) {
      record('previewFlow', req);
      return { shape: [1, 1, 1], data: [0] };
    },
    async predictions(req) {
      record('predictions', req);
      get(req.id);
      const empty = { shape: [0, 0, 1, 1], data: [] };
      return {
        runId: req.id,
        checkpoint: { which: req.checkpoint ?? 'best', step: null },
        first: req.first ?? 0,
        inputs: empty,
        targets: empty,
        predictions: empty,
        motions: [],
      };
    },
    async listFlows() {
      record('listFlows');
      return flows;
    },
    async saveFlow(req) {
      record('saveFlow', req);
      flows = [...flows.filter((f) => f.name !== req.name), req];
      return flows;
    },
    async deleteFlow(req) {
      record('deleteFlow', req);
      if (!flows.some((f) => f.name === req.name)) throw new InputError('name', `no saved flow named "${req.name}"`);
      flows = flows.filter((f) => f.name !== req.name);
      return flows;
    },
    async listSweeps() {
      record('listSweeps');
      return [...sweeps.values()].map((d) => ({
        id: d.status.sweep_id,
        name: d.status.name,
        executor: d.status.executor,
        createdAt: d.createdAt,
        members: d.status.members.length,
        completed: 0,
        running: 0,
        cancelled: d.cancelled,
      }));
    },
    async getSweep(req) {
      record('getSweep', req);
      return getSweep(req.id);
    },
    async createSweep(req) {
      record('createSweep', req);
      // Validated by the real schema (the wrapper below): members are expanded; nothing trains.
      const args = req as ServiceArgs<'createSweep'>;
      const id = `fake-sweep-${sweeps.size + 1}`;
      const d: SweepDetail = {
        status: {
          sweep_id: id,
          name: args.name,
          executor: args.executor.kind,
          members: args.members.map((m) => ({
            index: m.index,
            run_id: `${id}-m${m.index}`,
            overrides: m.overrides,
            status: 'pending',
            slurm_job: null,
            slurm_state: null,
          })),
          groups: [...new Set(args.members.map((m) => m.group))].map((key) => ({ key, n: args.members.filter((m) => m.group === key).length, completed: 0 })),
        },
        createdAt: new Date().toISOString(),
        memberGroups: args.members.map((m) => m.group),
        progress: args.members.map((m) => ({ index: m.index, step: 0, steps: m.config.steps })),
        task: 'prediction',
        curves: [],
        cancelled: false,
        active: false,
        folder: '/nowhere',
      };
      sweeps.set(id, d);
      return d;
    },
    async cancelSweep(req) {
      record('cancelSweep', req);
      const d = getSweep(req.id);
      d.cancelled = true;
      return d;
    },
    async resumeSweep(req) {
      record('resumeSweep', req);
      const d = getSweep(req.id);
      d.cancelled = false;
      return d;
    },
    async sweepExecutors() {
      record('sweepExecutors');
      return {
        local: { available: true, defaultParallel: 1, detail: 'fake' },
        slurm: { available: false, reason: 'fake: no sbatch' },
        defaults: SWEEP_DEFAULTS,
      };
    },
    onDidProgress(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  // As the real service, validate every argument at the service boundary (the transports pass it through).
  for (const m of LAB_METHODS) {
    const impl = svc[m] as (a?: unknown) => Promise<unknown>;
    (svc as unknown as Record<string, (a?: unknown) => Promise<unknown>>)[m] = async (raw?: unknown) => impl.call(svc, parseServiceArgs(m, raw));
  }
  return svc;
}
