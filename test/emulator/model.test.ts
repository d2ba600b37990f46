/**
 * The emulator's transcription of ECR Public's API model (local/ecr-public/model.ts)
 * against the model file itself: botocore's ecr-public/2020-10-30/service-2.json,
 * from the botocore that moto brings into the project's Python environment.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ECRPUBLICClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr-public';
import {
  AUTHORIZATION_TOKEN_VALIDITY_MS,
  EMULATED_OPERATIONS,
  ERRORS,
  FAILURE_CODES,
  LIMITS,
  SIGNING_NAME,
  TARGET_PREFIX,
  startEcrPublicEmulator,
} from '../../local/ecr-public';
import { describeWithBackends, motoPython } from '../support/backends';

interface Shape {
  type: string;
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  exception?: boolean;
  error?: { httpStatusCode?: number };
  members?: Record<string, { shape: string }>;
  documentation?: string;
}
interface ServiceModel {
  metadata: { targetPrefix: string; signingName: string };
  operations: Record<string, { input?: { shape: string }; output?: { shape: string }; errors?: Array<{ shape: string }>; documentation?: string }>;
  shapes: Record<string, Shape>;
}

describeWithBackends(['moto'], "the emulator's API model against botocore's")('local/ecr-public/model.ts', () => {
  let model: ServiceModel;
  beforeAll(() => {
    const directory = execFileSync(motoPython()!, ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__))'], {
      encoding: 'utf8',
    }).trim();
    const file = path.join(directory, 'data', 'ecr-public', '2020-10-30', 'service-2.json.gz');
    model = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as ServiceModel;
  });

  test('target prefix, signing name and operations', () => {
    expect(model.metadata.targetPrefix).toBe(TARGET_PREFIX);
    expect(model.metadata.signingName).toBe(SIGNING_NAME);
    for (const operation of EMULATED_OPERATIONS) expect(Object.keys(model.operations)).toContain(operation);
  });

  test('every limit and pattern, shape by shape', () => {
    for (const [name, limits] of Object.entries(LIMITS)) {
      const shape = model.shapes[name];
      const fromModel = Object.fromEntries(Object.keys(limits).map((key) => [key, shape[key as keyof Shape]]));
      expect({ name, ...limits }).toEqual({ name, ...fromModel });
    }
  });

  test('the failure codes of BatchDeleteImage', () => {
    expect([...FAILURE_CODES].sort()).toEqual([...model.shapes.ImageFailureCode.enum!].sort());
  });

  /** Errors of the emulated operations that the emulator never raises: it keeps no repository tags, layers or tag immutability. */
  const NOT_EMULATED = [
    'InvalidTagParameterException',
    'TooManyTagsException',
    'LayersNotFoundException',
    'ImageTagAlreadyExistsException',
    'RegistryNotFoundException',
  ];

  test("GetAuthorizationToken: no input members, and the emulator's answer has exactly the output shape's members, of their types", async () => {
    const operation = model.operations.GetAuthorizationToken;
    expect(model.shapes[operation.input!.shape].members).toEqual({});
    // The 12 hours of validity the emulator gives come from the operation's documentation.
    expect(operation.documentation).toContain('valid for 12 hours');
    expect(AUTHORIZATION_TOKEN_VALIDITY_MS).toBe(12 * 3600 * 1000);

    const emulator = await startEcrPublicEmulator();
    try {
      const client = new ECRPUBLICClient({
        region: 'us-east-1',
        endpoint: emulator.endpoint,
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      });
      const answer = await client.send(new GetAuthorizationTokenCommand({}));
      client.destroy();
      const output = model.shapes[operation.output!.shape];
      const { $metadata: _metadata, ...members } = answer;
      expect(Object.keys(members)).toEqual(Object.keys(output.members!));
      const data = model.shapes[output.members!.authorizationData.shape];
      expect(Object.keys(answer.authorizationData!).sort()).toEqual(Object.keys(data.members!).sort());
      const tokenShape = model.shapes[data.members!.authorizationToken.shape];
      expect(tokenShape.type).toBe('string');
      expect(answer.authorizationData!.authorizationToken).toMatch(new RegExp(tokenShape.pattern!));
      // A timestamp on the wire (epoch seconds), which the SDK reads as a Date: 12 hours from now.
      expect(model.shapes[data.members!.expiresAt.shape].type).toBe('timestamp');
      expect(answer.authorizationData!.expiresAt!.getTime() - Date.now()).toBeGreaterThan(AUTHORIZATION_TOKEN_VALIDITY_MS - 60_000);
    } finally {
      await emulator.close();
    }
  });

  test('the errors the emulated operations name: each known to the emulator, or named as not emulated', () => {
    const named = new Set(EMULATED_OPERATIONS.flatMap((operation) => (model.operations[operation].errors ?? []).map((e) => e.shape)));
    expect([...named].filter((error) => !(error in ERRORS) && !NOT_EMULATED.includes(error))).toEqual([]);
    for (const error of Object.keys(ERRORS)) expect({ error, exception: model.shapes[error]?.exception }).toEqual({ error, exception: true });
  });
});
