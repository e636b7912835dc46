// One in-process OTLP receiver for a test file: started before its tests and closed after them;
// after each test, the apps it launched (pushed to `apps`) are stopped and the store is emptied.
//
//   const shared = receiverPerFile();   // at module level
//   shared.rec                          // the receiver, once the file's tests run
//   shared.apps.push(app)
import { before, after, afterEach } from 'node:test';
import { startOtlpReceiver } from './otlp-receiver.mjs';

export function receiverPerFile() {
  const shared = { rec: undefined, apps: [] };
  before(async () => {
    shared.rec = await startOtlpReceiver();
  });
  after(async () => {
    await shared.rec?.close();
  });
  afterEach(async () => {
    for (const a of shared.apps.splice(0)) await a.stop();
    shared.rec.reset();
  });
  return shared;
}
