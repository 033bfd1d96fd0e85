// A remote control for Debian's Chromium, for tests/web.rs: reads one JSON command a line on
// stdin, runs it with Playwright, and writes one JSON answer a line ({ok, value} or {error}).
// The test's logic stays in Rust, which can restart the daemon while the page stays open.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
const pages = [await context.newPage()];
const timeout = 20000;

const commands = {
  goto: ({ tab, url }) => pages[tab].goto(url).then((response) => response && response.status()),
  // A tab beside the others, or (fresh) in a browser profile of its own, not signed in.
  newTab: async ({ fresh }) => {
    const owner = fresh ? await browser.newContext({ viewport: { width: 1100, height: 900 } }) : context;
    pages.push(await owner.newPage());
    return pages.length - 1;
  },
  // The tab gets no event streams: it knows only what it asked for.
  blockEvents: ({ tab }) => pages[tab].route("**/events?*", (route) => route.abort()),
  click: ({ tab, selector }) => pages[tab].click(selector, { timeout }),
  fill: ({ tab, selector, value }) => pages[tab].fill(selector, value, { timeout }),
  select: ({ tab, selector, value }) => pages[tab].selectOption(selector, value, { timeout }),
  press: ({ tab, key }) => pages[tab].keyboard.press(key),
  waitFor: ({ tab, selector, state }) => pages[tab].waitForSelector(selector, { timeout, state: state || "visible" }).then(() => true),
  waitForText: ({ tab, selector, text }) =>
    pages[tab].waitForFunction(
      ([selector, text]) => [...document.querySelectorAll(selector)].some((node) => node.textContent.includes(text)),
      [selector, text],
      { timeout },
    ).then(() => true),
  texts: ({ tab, selector }) => pages[tab].$$eval(selector, (nodes) => nodes.map((node) => node.textContent)),
  attributes: ({ tab, selector, name }) => pages[tab].$$eval(selector, (nodes, name) => nodes.map((node) => node.getAttribute(name)), name),
  evaluate: ({ tab, script }) => pages[tab].evaluate(script),
  url: ({ tab }) => pages[tab].url(),
  cookies: () => context.cookies(),
  screenshot: ({ tab, path }) => pages[tab].screenshot({ path, fullPage: true }).then(() => path),
  setViewport: ({ tab, width, height }) => pages[tab].setViewportSize({ width, height }),
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const command = JSON.parse(line);
    const value = await commands[command.op]({ tab: 0, ...command });
    answer = { ok: true, value: value === undefined ? null : value };
  } catch (error) {
    answer = { ok: false, error: String(error && error.message || error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
await browser.close();
