console.log('start');
const { bundleWorkflows } = await import('../test/e2e/helpers/sdk.js');
console.log('imported');
const t = Date.now();
const b = await bundleWorkflows();
console.log('bundle bytes', b.code.length, 'ms', Date.now() - t);
