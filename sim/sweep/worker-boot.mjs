// Worker entry when deltasim runs from its TypeScript sources (no build step): register tsx in this
// thread (a worker inherits no loader registered through the API, and Node 20 ignores `--import`
// in a worker's execArgv), then load the real entry. Plain JS so Node can start it as it is.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
