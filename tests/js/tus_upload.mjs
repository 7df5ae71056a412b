// Upload one file with tus-js-client, as a browser app (Uppy) or a Node script would.
//
//   node tus_upload.mjs --endpoint URL --file PATH --auth "Basic ..." [--chunk-size N]
//        [--name NAME] [--folder PATH] [--stop-after BYTES] [--url-storage FILE]
//        [--with-upload] [--bad-checksum]
//
// --stop-after aborts once that many bytes are acknowledged (an interrupted upload);
// --url-storage keeps the upload URL under the file's fingerprint, so that a second
// run with the same file resumes from the server's offset (findPreviousUploads);
// --bad-checksum sends a wrong Upload-Checksum with every PATCH.
// Prints one JSON line: {"status": "done"|"stopped"|"error", "url", "offset", "resumed",
// "httpStatus", "error"}; exits 0 unless the status is "error".

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { FileUrlStorage, Upload } from 'tus-js-client';

const { values: args } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    file: { type: 'string' },
    auth: { type: 'string' },
    'chunk-size': { type: 'string', default: '5242880' },
    name: { type: 'string' },
    folder: { type: 'string' },
    'stop-after': { type: 'string' },
    'url-storage': { type: 'string' },
    'with-upload': { type: 'boolean', default: false },
    'bad-checksum': { type: 'boolean', default: false },
  },
});
for (const required of ['endpoint', 'file', 'auth']) {
  if (!args[required]) {
    console.error(`tus_upload.mjs: --${required} is required`);
    process.exit(2);
  }
}

const stopAfter = args['stop-after'] ? Number(args['stop-after']) : null;
const metadata = { filename: args.name ?? args.file.split('/').pop() };
if (args.folder) metadata.folder = args.folder;

function report(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function run() {
  return new Promise((resolve) => {
    let resumed = false;
    let stopping = false;
    const options = {
      endpoint: args.endpoint,
      chunkSize: Number(args['chunk-size']),
      metadata,
      headers: { Authorization: args.auth },
      retryDelays: null,
      uploadDataDuringCreation: args['with-upload'],
      onBeforeRequest(req) {
        if (args['bad-checksum'] && req.getMethod() === 'PATCH') {
          req.setHeader('Upload-Checksum', `sha1 ${Buffer.alloc(20).toString('base64')}`);
        }
      },
      onChunkComplete(chunkSize, bytesAccepted) {
        if (stopAfter !== null && !stopping && bytesAccepted >= stopAfter) {
          stopping = true;
          upload.abort(false).then(() => {
            resolve({ status: 'stopped', url: upload.url, offset: bytesAccepted, resumed });
          });
        }
      },
      onSuccess() {
        resolve({ status: 'done', url: upload.url, offset: upload._offset, resumed });
      },
      onError(error) {
        const response = error.originalResponse;
        resolve({
          status: 'error',
          url: upload.url,
          resumed,
          httpStatus: response ? response.getStatus() : null,
          body: response ? response.getBody() : null,
          error: String(error.message ?? error),
        });
      },
    };
    if (args['url-storage']) {
      options.urlStorage = new FileUrlStorage(args['url-storage']);
      options.removeFingerprintOnSuccess = true;
    }
    // A ReadStream with a path: tus-js-client reads the slices it needs from the
    // file, so memory stays at one chunk and a resumed upload skips what is there.
    const upload = new Upload(fs.createReadStream(args.file), options);
    upload
      .findPreviousUploads()
      .then((previous) => {
        if (previous.length > 0) {
          resumed = true;
          upload.resumeFromPreviousUpload(previous[0]);
        }
        upload.start();
      })
      .catch((error) => resolve({ status: 'error', error: String(error) }));
  });
}

const result = await run();
report(result);
process.exit(result.status === 'error' ? 1 : 0);
