import type { MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  openStore(): void;
  about(): void;
  openPaper(): void;
  devTools: boolean;
}

/** The application menu: standard roles plus the lab's own entries. */
export function menuTemplate(platform: NodeJS.Platform, a: MenuActions): MenuItemConstructorOptions[] {
  const mac = platform === 'darwin';
  return [
    ...(mac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [{ label: 'Open the run store folder', click: a.openStore }, { type: 'separator' }, mac ? { role: 'close' } : { role: 'quit' }],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        { role: 'reload' },
        ...(a.devTools ? [{ role: 'toggleDevTools' as const }] : []),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    {
      label: '&Help',
      submenu: [
        { label: 'The FERNN paper (arXiv, opens your browser)', click: a.openPaper },
        { label: 'About FERNN Lab', click: a.about },
      ],
    },
  ];
}
