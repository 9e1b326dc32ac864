/**
 * Where a decoded frame goes (`JobServer.receive`): a packet to the handler of its type (client,
 * worker and reliable-queue requests) once the connection's roles allow it (roles.ts; else
 * ERROR PERMISSION_DENIED and nothing else happens), a text line to the admin commands, a fault to an ERROR in
 * the form its frame was sent in, and a close when it is fatal.
 *
 * @module
 */
import type { Frame } from "../protocol/decoder.ts";
import { encodeText } from "../protocol/encoder.ts";
import { handleAdminLine } from "./admin_requests.ts";
import { CLIENT_HANDLERS } from "./client_requests.ts";
import type { CoreContext, PacketHandler } from "./core_context.ts";
import type { Outbox } from "./outbox.ts";
import type { Peer } from "./peer.ts";
import { RELIABLE_HANDLERS } from "./reliable_requests.ts";
import { denial, PACKET_ROLES } from "./roles.ts";
import { COMMANDS } from "../protocol/commands.ts";
import { WORKER_HANDLERS } from "./worker_requests.ts";

const HANDLERS: (PacketHandler | undefined)[] = [];
for (const [code, h] of Object.entries({ ...CLIENT_HANDLERS, ...WORKER_HANDLERS, ...RELIABLE_HANDLERS })) HANDLERS[Number(code)] = h;

/** Hands one frame of a connection to its handler. */
export function dispatch(core: CoreContext & Pick<Outbox, "closeConnection">, peer: Peer, frame: Frame, now: number): void {
  switch (frame.kind) {
    case "packet": {
      const handler = HANDLERS[frame.code];
      if (!handler) {
        core.count("invalid_command");
        core.error(peer, "INVALID_COMMAND", "Command not expected");
        return;
      }
      const need = PACKET_ROLES[frame.code] ?? 0;
      if ((peer.roles & need) !== need) {
        core.count("permission_denied");
        core.error(peer, "PERMISSION_DENIED", denial(COMMANDS[frame.code]!.name, need, peer));
        return;
      }
      handler(core, peer, frame, now);
      return;
    }
    case "text":
      handleAdminLine(core, peer, frame.line, now);
      return;
    case "fault": {
      const e = frame.error;
      core.count(`protocol_${e.code.toLowerCase()}`);
      if (e.text) core.send(peer, encodeText(`ERR ${e.wireCode} ${e.wireText.replaceAll(" ", "+")}\r\n`));
      else core.error(peer, e.wireCode, e.wireText);
      if (e.fatal) core.closeConnection(peer, e.message);
      return;
    }
  }
}
