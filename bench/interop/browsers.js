'use strict';
// Shim for the benchmark: runs the interop suite's driver
// (tests/interop/browsers.js, unchanged) with extra Chromium flags from
// BENCH_CHROMIUM_ARGS (a JSON array), appended after the suite's own. The
// suite's driver has no way to pass flags; this patches playwright-core's
// chromium.launch in Node's module cache before the driver requires it.
// run.py starts it in place of the suite's driver (same requests, same pipe).
const path = require('path');
const { chromium } = require('playwright-core');

const extra = JSON.parse(process.env.BENCH_CHROMIUM_ARGS || '[]');
const launch = chromium.launch.bind(chromium);
chromium.launch = (options = {}) => launch({ ...options, args: [...(options.args || []), ...extra] });

require(path.join(__dirname, '..', '..', 'tests', 'interop', 'browsers.js'));
