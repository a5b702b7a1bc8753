// Swagger UI's script and stylesheet, from the installed swagger-ui-dist package.
import { Elysia } from "elysia";
import { ApiError } from "./problem";

const dist = new URL("../../node_modules/swagger-ui-dist/", import.meta.url);
const assets = ["swagger-ui-bundle.js", "swagger-ui.css"];

export const docsAssets = new Elysia({ name: "docs-assets" }).get(
  "/docs/assets/:file",
  ({ params }) => {
    if (!assets.includes(params.file)) throw new ApiError(404, "NOT_FOUND", `There is no /docs/assets/${params.file.slice(0, 100)}.`);
    return Bun.file(new URL(params.file, dist));
  },
  { detail: { hide: true } },
);
