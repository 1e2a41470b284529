/** A parsed image reference, normalised the way Docker does (`nginx` → `docker.io/library/nginx:latest`). */
export interface ImageReference {
  registry: string;
  /** Path inside the registry, e.g. `library/nginx`, `hashicorp/http-echo`. */
  repository: string;
  tag: string;
  digest: string | null;
  /** `docker.io/library/nginx:1.25` (with `@sha256:…` when a digest was given). */
  normalized: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

/** Returns null for a malformed reference (upstream's "invalid reference format"). */
export function parseImageReference(image: string): ImageReference | null {
  if (image.length === 0 || image.length > 255 || image.trim() !== image) return null;
  let rest = image;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return null;
  }
  let tag = 'latest';
  let tagGiven = false;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    tagGiven = true;
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return null;
  }
  const parts = rest.split('/');
  let registry = 'docker.io';
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    parts.shift();
  }
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p))) return null;
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  const tagPart = digest && !tagGiven ? '' : `:${tag}`;
  const normalized = `${registry}/${repository}${tagPart}${digest ? `@${digest}` : ''}`;
  return { registry, repository, tag, digest, normalized };
}
