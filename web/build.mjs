// Bundle the widget and the staff console into api/static/ (run with: npm run build).
import { build } from "esbuild";

await build({
  entryPoints: { widget: "widget/index.ts", console: "console/index.ts" },
  outdir: "../api/static",
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  legalComments: "none",
  logLevel: "warning",
});
