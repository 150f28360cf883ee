#!/usr/bin/env node
/**
 * The CDK app: picks the stage (`-c stage=local|production`, default production), runs cdk-nag's
 * AwsSolutions checks on it (findings the design accepts are acknowledged, with their reason, in the
 * construct that causes them), and creates the stack.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SwitchyardStack } from '../lib/switchyard-stack.js';
import { STAGES } from './stages.js';

const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? 'production');
const settings = STAGES[stage];
if (!settings) throw new Error(`unknown stage "${stage}"; known: ${Object.keys(STAGES).join(', ')}`);

new SwitchyardStack(app, 'Switchyard', {
  settings,
  description: 'switchyard: webhook integration hub',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
