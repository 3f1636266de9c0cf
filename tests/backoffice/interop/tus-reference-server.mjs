// The reference tus server, @tus/server with its file store, over HTTPS on 127.0.0.1,
// for the kiosk uploader's interoperability test (tests/deposit/test_upload_interop.py).
//
//   node tus-reference-server.mjs DIR KEY CERT CA
//
// Requires a client certificate chaining to CA (as the back office does). Prints
// "listening on https://127.0.0.1:PORT" once it accepts connections; stops on SIGTERM.
import https from "node:https";
import fs from "node:fs";
import { Server } from "@tus/server";
import { FileStore } from "@tus/file-store";

const [dir, key, cert, ca] = process.argv.slice(2);
// Relative Location headers: the server cannot tell it is behind TLS (it builds http:// URLs).
const tus = new Server({
  path: "/files",
  relativeLocation: true,
  datastore: new FileStore({ directory: dir }),
});
const server = https.createServer(
  {
    key: fs.readFileSync(key),
    cert: fs.readFileSync(cert),
    ca: fs.readFileSync(ca),
    requestCert: true,
    rejectUnauthorized: true,
  },
  (req, res) => tus.handle(req, res),
);
server.listen(0, "127.0.0.1", () => {
  console.log(`listening on https://127.0.0.1:${server.address().port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
