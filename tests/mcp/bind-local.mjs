// Loaded before the everything server (`node --import`): its HTTP server listens on 127.0.0.1
// only, and the headers the tests look for are appended to $MCP_HEADERS_LOG, one JSON line a
// request.
import fs from "node:fs";
import http from "node:http";

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (port, ...rest) {
  const callback = rest.find((argument) => typeof argument === "function");
  return listen.call(this, port, "127.0.0.1", callback);
};

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, request, ...rest) {
  if (event === "request" && process.env.MCP_HEADERS_LOG) {
    const seen = { authorization: request.headers.authorization ?? null, team: request.headers["x-team"] ?? null };
    fs.appendFileSync(process.env.MCP_HEADERS_LOG, `${JSON.stringify(seen)}\n`);
  }
  return emit.call(this, event, request, ...rest);
};
