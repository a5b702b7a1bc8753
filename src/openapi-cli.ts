// `bun run openapi [file]`: writes the OpenAPI document (what GET /docs/json answers) for tools such as
// `redocly lint` and client generators, without a server or a database of its own.
import { createApp } from "./app";
import { readConfig } from "./config";
import { connect } from "./db/connect";

// An empty in-memory database: building the document runs no query. It is not closed (PGlite takes
// seconds to), just dropped when the process exits.
const config = readConfig({ PGLITE_DATA_DIR: "memory://", LOG_LEVEL: "silent" });
const database = await connect(config.database);
const answer = await createApp({ database, config }).handle(new Request("http://localhost/docs/json"));
const document = `${JSON.stringify(await answer.json(), null, 2)}\n`;
const file = Bun.argv[2];
if (file) await Bun.write(file, document);
else process.stdout.write(document);
process.exit(0);
