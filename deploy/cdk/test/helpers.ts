// Shared by the assertion tests: an App with cdk.json's feature flags (as `cdk synth` runs
// it) and a placeholder Lambda zip (the assertions look at the template, not the code).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

export function newApp(): App {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'));
  return new App({ context: cdkJson.context });
}

let placeholder: string | undefined;
export function placeholderZip(): string {
  if (!placeholder) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thumbflow-cdk-test-'));
    placeholder = path.join(dir, 'thumbflow-lambda.zip');
    fs.writeFileSync(placeholder, 'placeholder: the assertions never read the code');
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return placeholder;
}

/** The single resource of `type` (fails when there are none or several). */
export function only(template: Template, type: string, props: object = {}): [string, any] {
  const found = Object.entries(template.findResources(type, props));
  if (found.length !== 1) {
    throw new Error(`expected one ${type} matching ${JSON.stringify(props)}, found ${found.length}`);
  }
  return found[0];
}

/** Every statement of the IAM policies attached to the role with logical id `roleId`. */
export function roleStatements(template: Template, roleId: string): any[] {
  const statements: any[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles = (policy as any).Properties.Roles as any[];
    if (roles.some((r) => r.Ref === roleId)) statements.push(...(policy as any).Properties.PolicyDocument.Statement);
  }
  return statements;
}

export function actionsOf(statement: any): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** The logical id of the resource whose id starts with `prefix` (CDK appends a hash). */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} named ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}
