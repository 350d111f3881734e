/**
 * Runs before every test file. Dummy credentials keep the SDK from looking for real ones (and from ever
 * reaching AWS); the Node 20 support notice would otherwise be printed by every worker.
 */
process.env.AWS_ACCESS_KEY_ID = 'local';
process.env.AWS_SECRET_ACCESS_KEY = 'local';
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
