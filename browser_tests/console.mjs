// A clean console: records what a page prints as an error, every uncaught exception, every
// request that failed and every answer of 400 or above, so a test of a normal session can say
// that nothing went wrong that it did not expect.

export function watchConsole(page, who) {
  const seen = [];
  page.on('console', (message) => {
    if (message.type() === 'error') seen.push(`${who} console: ${message.text()}`);
  });
  page.on('pageerror', (error) => seen.push(`${who} exception: ${error.message}`));
  page.on('requestfailed', (request) => {
    seen.push(`${who} failed request: ${request.method()} ${request.url()} (${request.failure()?.errorText})`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) seen.push(`${who} answer ${response.status()}: ${response.request().method()} ${response.url()}`);
  });
  return {
    // What went wrong, less what `expected` (predicates over the lines) allows.
    unexpected: (expected = []) => seen.filter((line) => !expected.some((allow) => allow(line))),
  };
}
