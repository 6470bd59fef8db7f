'use strict';
// Drives the system's Chromium (playwright-core) and Firefox ESR (puppeteer-core
// over WebDriver BiDi) for test_interop.py: one JSON request per line on stdin,
// one JSON answer per line on the file descriptor INTEROP_ANSWER_FD
// ({"id", "ok": true, "value"} or {"id", "ok": false, "error"}); stdout and
// stderr carry the browsers' own output. Never downloads a browser: both are launched
// from their Debian paths, with fresh profiles and everything that would
// reach the internet turned off.
//
// Requests:
//   {"op": "launch", "name": N, "browser": "chromium"|"firefox", "mdns": bool,
//    "grantMedia": bool, "insecureCerts": bool}
//                                            start a browser; value: its version.
//                                            insecureCerts: accept any TLS
//                                            certificate (a self-signed server's)
//   {"op": "open", "name": N, "url": U}      a new page in browser N (closes the old)
//   {"op": "eval", "name": N, "expr": E}     await (async () => (E))() in the page
//   {"op": "close", "name": N}               close the page
//   {"op": "quit"}                           close everything and exit
// Console messages and page errors go to LOGDIR/<name>-console.log.
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const logDir = process.env.INTEROP_LOGDIR || '.';
const answerFd = Number(process.env.INTEROP_ANSWER_FD || 1);
const answer = (a) => fs.writeSync(answerFd, JSON.stringify(a) + '\n');
const browsers = new Map(); // name -> {kind, browser, page, log}

const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-domain-reliability', '--metrics-recording-only',
  '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required',
];

// Prefs of a fresh Firefox profile (on top of puppeteer's own, which already
// turn off updates, telemetry and most background fetches).
function firefoxPrefs(mdns, grantMedia) {
  return {
    'media.navigator.streams.fake': true,
    // Lets getUserMedia through without a prompt. Firefox does not count
    // this as a granted permission, so its host candidates stay hidden
    // behind .local names unless obfuscate_host_addresses is false.
    'media.navigator.permission.disabled': grantMedia,
    'media.peerconnection.ice.obfuscate_host_addresses': mdns,
    'media.autoplay.default': 0,
    'media.autoplay.block-webaudio': false,
    'app.update.enabled': false,
    'app.update.auto': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'datareporting.healthreport.uploadEnabled': false,
    'toolkit.telemetry.enabled': false,
    'toolkit.telemetry.unified': false,
    'toolkit.telemetry.server': 'data:,',
    'browser.safebrowsing.malware.enabled': false,
    'browser.safebrowsing.phishing.enabled': false,
    'browser.safebrowsing.downloads.enabled': false,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    'network.dns.disablePrefetch': true,
    'network.prefetch-next': false,
    'network.trr.mode': 5,
    'extensions.update.enabled': false,
    'extensions.getAddons.cache.enabled': false,
    'services.settings.server': 'data:,',
    'browser.shell.checkDefaultBrowser': false,
    'browser.newtabpage.enabled': false,
    'browser.startup.page': 0,
    'media.gmp-manager.url': 'data:,',
    'media.gmp-gmpopenh264.enabled': false,
    'geo.enabled': false,
  };
}

function openLog(name) {
  return fs.createWriteStream(path.join(logDir, `${name}-console.log`), { flags: 'a' });
}

async function launch({ name, browser, mdns, grantMedia, insecureCerts = false }) {
  const log = openLog(name);
  const t0 = Date.now();
  let b, version;
  if (browser === 'chromium') {
    const { chromium } = require('playwright-core');
    const args = [...CHROMIUM_FLAGS];
    // With the fake permission UI every page counts as granted camera and
    // microphone, and Chromium then hands out real host addresses whatever
    // the mDNS setting; without it, getUserMedia is refused.
    if (grantMedia) args.push('--use-fake-ui-for-media-stream');
    if (!mdns) args.push('--disable-features=WebRtcHideLocalIpsWithMdns');
    if (insecureCerts) args.push('--ignore-certificate-errors');
    b = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args, timeout: 60000 });
    version = `Chromium ${b.version()}`;
  } else if (browser === 'firefox') {
    const puppeteer = require('puppeteer-core');
    b = await puppeteer.launch({
      browser: 'firefox', protocol: 'webDriverBiDi', executablePath: '/usr/bin/firefox-esr',
      headless: true, timeout: 60000, dumpio: true, acceptInsecureCerts: Boolean(insecureCerts),
      extraPrefsFirefox: firefoxPrefs(mdns, grantMedia),
    });
    version = `Firefox ${await b.version()}`;
  } else {
    throw new Error(`unknown browser ${browser}`);
  }
  log.write(`${new Date().toISOString()} launched ${version} in ${Date.now() - t0} ms (mdns ${mdns}, grantMedia ${grantMedia}, insecureCerts ${insecureCerts})\n`);
  browsers.set(name, { kind: browser, browser: b, page: null, log });
  return version;
}

async function open({ name, url }) {
  const e = get(name);
  if (e.page) await e.page.close().catch(() => {});
  const page = await e.browser.newPage();
  e.page = page;
  page.on('console', (m) => e.log.write(`${new Date().toISOString()} console.${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (err) => e.log.write(`${new Date().toISOString()} pageerror: ${err && err.stack || err}\n`));
  e.log.write(`${new Date().toISOString()} open ${url}\n`);
  await page.goto(url, { timeout: 30000 });
  return true;
}

async function evaluate({ name, expr }) {
  const e = get(name);
  if (!e.page) throw new Error(`${name}: no page open`);
  // A string is evaluated as an expression by both drivers.
  return await e.page.evaluate(`(async () => (${expr}))().then((v) => v === undefined ? null : v)`);
}

async function close({ name }) {
  const e = get(name);
  if (e.page) await e.page.close().catch(() => {});
  e.page = null;
  return true;
}

function get(name) {
  const e = browsers.get(name);
  if (!e) throw new Error(`no browser named ${name}`);
  return e;
}

async function quit() {
  // Firefox takes about 5 s to close over BiDi; the test kills whatever is
  // left in its namespace anyway.
  for (const [, e] of browsers) {
    await Promise.race([e.browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 1500))]);
    e.log.end();
  }
  browsers.clear();
  return true;
}

// A PNG of the page at width x height (docs/screenshots/make-web-screenshot.py).
async function screenshot({ name, path, width, height }) {
  const e = get(name);
  if (!e.page) throw new Error(`${name}: no page open`);
  const size = { width: width || 1280, height: height || 800 };
  if (e.kind === 'chromium') await e.page.setViewportSize(size);
  else await e.page.setViewport(size);
  await e.page.screenshot({ path });
  return path;
}

const ops = { launch, open, eval: evaluate, close, quit, screenshot };

const rl = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on('line', (line) => {
  if (!line.trim()) return;
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    answer({ id: null, ok: false, error: `bad request: ${err.message}` });
    return;
  }
  // One request at a time, in order.
  queue = queue.then(async () => {
    let a;
    try {
      const fn = ops[req.op];
      if (!fn) throw new Error(`unknown op ${req.op}`);
      a = { id: req.id, ok: true, value: await fn(req) };
    } catch (err) {
      a = { id: req.id, ok: false, error: String(err && err.message || err) };
    }
    answer(a);
    if (req.op === 'quit') process.exit(0);
  });
});
// The test closed our stdin (it is done or died): close the browsers.
rl.on('close', () => { queue.then(quit).then(() => process.exit(0)); });
