import type { ILabService } from '../core/protocol/service';
import { createWebLabClient, takeToken } from './labClient';
import { prefetchRuns } from './firstList';
import './styles.css';

// In Electron the preload has set window.lab; in a browser the web client provides it, with the launch token.
const w = window as Omit<Window, 'lab'> & { lab?: ILabService };
if (!w.lab) {
  const token = takeToken();
  if (token) w.lab = createWebLabClient(token);
}
// The run list is asked for first, then the app (Vue, the views) loads: the service lists the runs meanwhile.
if (w.lab) prefetchRuns(w.lab);
void import('./boot').then(({ boot }) => boot(w.lab !== undefined));
