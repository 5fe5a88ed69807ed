// Sign webhook bodies with npm @octokit/webhooks-methods (tests/it/webhook_interop.rs).
// Reads a JSON list of {secret, body} on stdin, prints a JSON list of X-Hub-Signature-256 values.
// Run from a directory whose node_modules holds the package (the test copies this file there).
import { sign } from "@octokit/webhooks-methods";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const req of JSON.parse(input)) out.push(await sign(req.secret, req.body));
process.stdout.write(JSON.stringify(out));
