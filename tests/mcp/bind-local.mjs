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

// The everything server's event store (2.0.0) answers a replay with an event id where the SDK
// expects the stream's id, and replays every stream's events: a client resuming a cut stream
// with Last-Event-ID got the replay but never the rest of its call. This store does what the
// SDK's contract says, from the same events.
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";

const replayEvents = WebStandardStreamableHTTPServerTransport.prototype.replayEvents;
WebStandardStreamableHTTPServerTransport.prototype.replayEvents = function (lastEventId) {
  const store = this._eventStore;
  if (store?.events instanceof Map) {
    store.replayEventsAfter = async (after, { send }) => {
      const entries = [...store.events.entries()];
      const at = entries.findIndex(([id]) => id === after);
      if (at === -1) return undefined;
      const { streamId } = entries[at][1];
      for (const [id, event] of entries.slice(at + 1)) {
        if (event.streamId === streamId) await send(id, event.message);
      }
      return streamId;
    };
  }
  return replayEvents.call(this, lastEventId);
};
