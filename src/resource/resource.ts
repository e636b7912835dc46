// The resource every signal carries: who is speaking (service, version, environment) and
// where (host, os, process, instance). Cloud detectors probe metadata endpoints over the
// network and stall off-cloud, so they run only when named in OTEL_NODE_RESOURCE_DETECTORS.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { detectResources, hostDetector, osDetector, processDetector, resourceFromAttributes, type Resource, type ResourceDetector } from '@opentelemetry/resources';
import { SDK_INFO } from '@opentelemetry/core';
import type { Config } from '../config/types';
import { reportOnce } from '../diag';
import { VERSION } from '../version';
import { serviceInstanceIdDetector } from './service-instance-id';
import { containerDetector } from './container-id';

const CLOUD_DETECTORS: Record<string, [pkg: string, exports: string[]]> = {
  aws: ['@opentelemetry/resource-detector-aws', ['awsEc2Detector', 'awsEcsDetector', 'awsEksDetector', 'awsBeanstalkDetector', 'awsLambdaDetector']],
  gcp: ['@opentelemetry/resource-detector-gcp', ['gcpDetector']],
  azure: ['@opentelemetry/resource-detector-azure', ['azureAppServiceDetector', 'azureFunctionsDetector', 'azureVmDetector']],
  alibaba: ['@opentelemetry/resource-detector-alibaba-cloud', ['alibabaCloudEcsDetector']],
};

const ARCH: Record<string, string> = { arm: 'arm32', ppc: 'ppc32', x64: 'amd64' };

/**
 * On Linux the host id is a file read: done synchronously it costs microseconds, where the
 * upstream detector's promise chain (dynamic imports, a FileHandle) costs milliseconds of start-up.
 */
const linuxHostDetector: ResourceDetector = {
  detect() {
    let id: string | undefined;
    for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
      try {
        id = fs.readFileSync(file, 'utf8').trim() || undefined;
        if (id) break;
      } catch {
        // not there: try the next one
      }
    }
    const attributes: Record<string, string> = { 'host.name': os.hostname(), 'host.arch': ARCH[os.arch()] ?? os.arch() };
    if (id) attributes['host.id'] = id;
    return { attributes };
  },
};

function detectorsFor(names: string[]): ResourceDetector[] {
  const out: ResourceDetector[] = [];
  for (const name of names) {
    switch (name) {
      case 'env': break; // applied from the validated config below, not re-read from process.env
      case 'host': out.push(process.platform === 'linux' ? linuxHostDetector : hostDetector); break;
      case 'os': out.push(osDetector); break;
      case 'process': out.push(processDetector); break;
      case 'serviceinstance': out.push(serviceInstanceIdDetector); break;
      case 'container': out.push(containerDetector); break;
      default: {
        const entry = CLOUD_DETECTORS[name];
        if (!entry) break;
        try {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const mod = require(entry[0]) as Record<string, ResourceDetector | undefined>;
          for (const e of entry[1]) if (mod[e]) out.push(mod[e]);
        } catch (err) {
          reportOnce(`detector:${name}`, `resource detector ${name} could not be loaded`, err);
        }
      }
    }
  }
  return out;
}

export function buildResource(config: Config): Resource {
  const detected = detectResources({ detectors: detectorsFor(config.resourceDetectors) });
  const fromEnv = config.resourceDetectors.includes('env') ? config.resourceAttributes : {};
  // Upstream's default resource: SDK_INFO under what the detectors find, so that the process
  // detector's process.runtime.name ("nodejs") wins over SDK_INFO's ("node"), as in the SDK.
  const sdk = resourceFromAttributes(SDK_INFO);
  const own: Record<string, string> = {
    'service.name': config.serviceName,
    'deployment.environment.name': config.environment,
    'telemetry.distro.name': 'otelkit',
    'telemetry.distro.version': VERSION,
  };
  if (config.serviceVersion) own['service.version'] = config.serviceVersion;
  return sdk.merge(detected).merge(resourceFromAttributes(fromEnv)).merge(resourceFromAttributes(own));
}
