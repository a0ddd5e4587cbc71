// A minimal Lambda runtime for the original Node functions, so that they start and answer the
// same way the Rust functions do under bench/harness.py: the process starts, loads the
// `twilio` package (as the Twilio Functions runtime preloads it) and the function, then asks
// AWS_LAMBDA_RUNTIME_API for invocations (API Gateway HTTP API v2 events) and posts each
// answer back. The function is a Twilio Function, `handler(context, event, callback)`, given
// what Twilio Functions give it: `context` with the environment and `getTwilioClient()`, `event`
// with the JSON body's fields, and the global `Twilio` with `Twilio.Response`.
//
// Usage: ONAIR_FUNCTION=host_token node bench/node/runtime.js
'use strict';

const http = require('http');
const path = require('path');
const twilio = require('twilio');
const RequestClient = require('twilio/lib/base/RequestClient');

// twilio 3.x has no setting for other API hosts: its requests go through this client, which
// sends Video and Media calls to the bases the Rust functions are given (the stand-in).
const BASES = {
  video: process.env.TWILIO_VIDEO_BASE_URL,
  media: process.env.TWILIO_MEDIA_BASE_URL,
};
class StandInRequestClient extends RequestClient {
  request(opts) {
    const uri = opts.uri.replace(
      /^https:\/\/(video|media)\.twilio\.com/,
      (whole, api) => BASES[api] || whole,
    );
    return super.request({ ...opts, uri });
  }
}

// What the Twilio Functions runtime provides.
class Response {
  constructor() {
    this.statusCode = 200;
    this.headers = { 'Content-Type': 'application/json' };
    this.body = null;
  }
  setStatusCode(code) {
    this.statusCode = code;
  }
  setBody(body) {
    this.body = body;
  }
  appendHeader(name, value) {
    this.headers[name] = value;
  }
}
twilio.Response = Response;
global.Twilio = twilio;

const httpClient = new StandInRequestClient();
const context = {
  ...process.env,
  getTwilioClient: () =>
    twilio(process.env.ACCOUNT_SID, process.env.AUTH_TOKEN, { httpClient }),
};

const { handler } = require(path.join(__dirname, 'functions', `${process.env.ONAIR_FUNCTION}.js`));

const [apiHost, apiPort] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function runtimeApi(method, urlPath, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: apiHost, port: apiPort, method, path: `/2018-06-01/runtime${urlPath}`, agent },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    if (body !== undefined) {
      req.setHeader('Content-Type', 'application/json');
      req.setHeader('Content-Length', Buffer.byteLength(body));
      req.end(body);
    } else {
      req.end();
    }
  });
}

// The Twilio Function's callback, as an API Gateway HTTP API answer.
function invoke(event) {
  let params = {};
  if (event.body) {
    const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString() : event.body;
    try {
      params = JSON.parse(text);
    } catch {
      params = {};
    }
  }
  return new Promise((resolve) => {
    const callback = (err, result) => {
      if (err) {
        resolve({ statusCode: 500, headers: {}, body: JSON.stringify({ message: String(err) }) });
      } else if (result instanceof Response) {
        resolve({
          statusCode: result.statusCode,
          headers: result.headers,
          body: JSON.stringify(result.body),
        });
      } else {
        resolve({
          statusCode: 200,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(result),
        });
      }
    };
    Promise.resolve(handler(context, params, callback)).catch((err) => callback(err));
  });
}

async function main() {
  for (;;) {
    const next = await runtimeApi('GET', '/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    const answer = await invoke(JSON.parse(next.body));
    await runtimeApi('POST', `/invocation/${id}/response`, JSON.stringify(answer));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
