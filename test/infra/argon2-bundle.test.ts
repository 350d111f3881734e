import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type CfnElement, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AppFunction } from '../../infra/constructs/app-function.js';
import { Tables } from '../../infra/constructs/tables.js';
import { defaultFunctionsDir } from '../../infra/paths.js';
import { workloads } from '../../infra/workloads.js';
import { testApp } from './support/app.js';

/** ELF e_machine of AArch64 (ARM 64-bit); x86-64 would be 0x3E. */
const EM_AARCH64 = 0xb7;

interface ElfIdentity {
  readonly magic: string;
  readonly class64: boolean;
  readonly littleEndian: boolean;
  readonly machine: number;
}

/** Reads the ELF header fields that say which CPU a shared object was built for. */
function readElfIdentity(file: string): ElfIdentity {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  const littleEndian = header[5] === 1; // EI_DATA
  return {
    magic: header.subarray(0, 4).toString('latin1'),
    class64: header[4] === 2, // EI_CLASS
    littleEndian,
    machine: littleEndian ? header.readUInt16LE(18) : header.readUInt16BE(18), // e_machine
  };
}

function findFiles(dir: string, suffix: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) => join(entry.parentPath, entry.name));
}

let outdir: string;
let assetDir: string;

beforeAll(() => {
  // GIVEN an argon2 workload built by the same construct as the stack's, in a stack that is bundled for real
  // (the only synth in the suite that bundles: esbuild plus an npm install of @node-rs/argon2 for linux-arm64)
  outdir = mkdtempSync(join(tmpdir(), 'account-shield-bundle-'));
  const app = testApp({ outdir, bundlingStacks: ['Argon2Bundle'] });
  const stack = new Stack(app, 'Argon2Bundle');
  const tables = new Tables(stack, 'Tables', {
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
  });
  const fn = new AppFunction(stack, 'Accounts', {
    workload: 'accounts',
    entry: join(defaultFunctionsDir, 'accounts.ts'),
    resources: {
      tables: tables.tables,
      signingKeySecret: new Secret(stack, 'SigningKey'),
      verificationKeysSecret: new Secret(stack, 'PublicKeys'),
      notificationsQueue: new Queue(stack, 'Notifications'),
    },
    environment: {},
    logRetention: RetentionDays.ONE_DAY,
    logRemovalPolicy: RemovalPolicy.DESTROY,
  });
  expect(workloads.accounts.shipsArgon2).toBe(true);

  // WHEN it is synthesized
  const assembly = app.synth();
  const functionId = stack.resolve(stack.getLogicalId(fn.function.node.defaultChild as CfnElement)) as string;
  const code = Template.fromStack(stack).toJSON().Resources[functionId].Properties.Code as { S3Key: string };
  assetDir = join(assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
}, 300_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  CloudAssembly.cleanupTemporaryDirectories();
});

describe('GIVEN the argon2 workload bundled on this machine, whatever its CPU', () => {
  test('THEN the asset is an ESM bundle with its source map', () => {
    expect(existsSync(join(assetDir, 'index.mjs'))).toBe(true);
    expect(existsSync(join(assetDir, 'index.mjs.map'))).toBe(true);
    expect(existsSync(join(assetDir, 'node_modules', '@node-rs', 'argon2', 'package.json'))).toBe(true);
  });

  test('THEN every native binary in it is a 64-bit little-endian ELF for AArch64, matching the arm64 function', () => {
    const binaries = findFiles(join(assetDir, 'node_modules'), '.node');
    expect(binaries.map((file) => relative(assetDir, file))).toEqual([
      expect.stringMatching(/^node_modules\/@node-rs\/argon2-linux-arm64-gnu\/.+\.node$/),
    ]);
    for (const binary of binaries) {
      expect({ binary: relative(assetDir, binary), ...readElfIdentity(binary) }).toEqual({
        binary: relative(assetDir, binary),
        magic: '\x7fELF',
        class64: true,
        littleEndian: true,
        machine: EM_AARCH64,
      });
    }
  });
});
