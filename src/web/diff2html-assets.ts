import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/** diff2html's stylesheet and browser bundle, served by Kodah itself: no CDN, and the CSP stays 'self'. */
export interface Diff2HtmlAssets {
  css: string;
  uiJs: string;
}

/** Reads the two files from the installed package once, when the pages start. */
export async function loadDiff2HtmlAssets(): Promise<Diff2HtmlAssets> {
  const require = createRequire(import.meta.url);
  // The package's exports hide bundles/: find its folder through package.json, which it exports.
  const root = path.dirname(require.resolve('diff2html/package.json'));
  const [css, uiJs] = await Promise.all([
    readFile(path.join(root, 'bundles/css/diff2html.min.css'), 'utf8'),
    readFile(path.join(root, 'bundles/js/diff2html-ui.min.js'), 'utf8'),
  ]);
  return { css, uiJs };
}
