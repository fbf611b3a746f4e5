/**
 * What the server takes from node:http, loaded as `require` loads it. An ES module `import` from
 * node:http makes Node build the module's namespace, reading every export, and on Node 22 and later
 * three of them (WebSocket, CloseEvent, MessageEvent) are getters that load undici: ~0.1–0.2 s of
 * every start on the development machine, for classes the server never uses
 * (https://github.com/nodejs/node/issues/59686). process.getBuiltinModule (Node 20.16 and later)
 * returns the module object itself, whose getters run only when read. Types still come from
 * `import type ... from 'node:http'`, which leaves nothing in the JavaScript.
 */
export const { createServer, STATUS_CODES } = process.getBuiltinModule('node:http');
