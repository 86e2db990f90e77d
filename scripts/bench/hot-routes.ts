/** The API's hot routes as bench:cpu and bench:profile load them (a signed-in driver each). */
export interface HotRoute {
  key: string;
  name: string;
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

export const HOT_ROUTES: readonly HotRoute[] = [
  { key: 'post', name: 'GPS post (1 point)', method: 'POST', path: '/api/v1/mobile/location', body: JSON.stringify({ latitude: 37.5665, longitude: 126.978 }) },
  { key: 'list', name: 'driver dispatch list', method: 'GET', path: '/api/v1/mobile/dispatches' },
  { key: 'summary', name: 'driver summary (cached)', method: 'GET', path: '/api/v1/mobile/summary' },
  { key: 'health', name: 'health', method: 'GET', path: '/api/v1/health' },
];
