// Bundles the sample's pages with esbuild, as a web app would ship them (npm run build).
//   dist/chat-sdk.js   the unmodified @azure/communication-chat browser SDK, as an ES module
//   dist/composite.js  the ChatComposite app (src/composite.jsx)
// @azure/communication-calling (closed source, never installed) resolves to our own stub.
import * as esbuild from "esbuild";
import { existsSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const common = {
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2020",
  logLevel: "warning",
  absWorkingDir: here,
};

await esbuild.build({ ...common, entryPoints: ["src/chat-sdk.js"], outfile: "dist/chat-sdk.js" });
if (existsSync(`${here}src/composite.jsx`)) {
  const { metafile } = await esbuild.build({
    ...common,
    metafile: true,
    entryPoints: ["src/composite.jsx"],
    outfile: "dist/composite.js",
    jsx: "automatic",
    define: { "process.env.NODE_ENV": '"production"' },
    alias: {
      "@azure/communication-calling": "./src/no-calling-sdk.js",
      "@azure/communication-calling-effects": "./src/no-calling-sdk.js",
    },
    minify: true,
  });
  // Every file that went into the bundle: tests check the closed SDK is not among them.
  writeFileSync(`${here}dist/composite.inputs.json`, JSON.stringify(Object.keys(metafile.inputs)));
}
