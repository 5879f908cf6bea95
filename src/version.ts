/**
 * dealyard's version: what the apiserver records as the field manager and in its audit log (the
 * User-Agent), and what libp2p peers see in identify. Kept equal to package.json's by a unit test,
 * so the image does not need package.json read at startup.
 */
export const DEALYARD_VERSION = '0.1.0'

/** client-go's User-Agent form, `<component>/<version> (<os>/<arch>)`: the apiserver takes the part before the first '/' as the field manager. */
export function kubeUserAgent (component: string): string {
  return `${component}/${DEALYARD_VERSION} (${process.platform}/${process.arch})`
}
