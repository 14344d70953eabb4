import { createApp } from 'vue';
import type { ILabService } from '../core/protocol/service';
import App from './App.vue';
import NoAccess from './views/NoAccess.vue';
import { createWebLabClient, takeToken } from './labClient';
import './styles.css';
import './theme';

// In Electron the preload has set window.lab; in a browser the web client provides it, with the launch token.
const w = window as Omit<Window, 'lab'> & { lab?: ILabService };
if (!w.lab) {
  const token = takeToken();
  if (token) w.lab = createWebLabClient(token);
}
createApp(w.lab ? App : NoAccess).mount('#app');
