// Swagger UI's script and stylesheet, from the installed swagger-ui-dist package.
import { Elysia } from "elysia";

const dist = new URL("../../node_modules/swagger-ui-dist/", import.meta.url);
const assets = ["swagger-ui-bundle.js", "swagger-ui.css"];

export const docsAssets = new Elysia({ name: "docs-assets" }).get(
  "/docs/assets/:file",
  ({ params, status }) => (assets.includes(params.file) ? Bun.file(new URL(params.file, dist)) : status(404, "not found")),
  { detail: { hide: true } },
);
