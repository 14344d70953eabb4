import { createApp } from 'vue';
import App from './App.vue';
import NoAccess from './views/NoAccess.vue';
import './theme';

/** Starts the app (loaded by main.ts after it has asked for the run list), or the no-access page without a service. */
export function boot(hasService: boolean): void {
  createApp(hasService ? App : NoAccess).mount('#app');
}
