/** Open the configured backend, importing only that backend's code. */
import type {ConfigValues} from './config.js'
import type {Datastore} from './datastore.js'

export async function openDatastore(config: ConfigValues): Promise<Datastore> {
  switch (config.datastoreType) {
    case 'file': {
      const {FileDatastore} = await import('./file.js')
      return new FileDatastore(config.fileDatastoreDir ?? config.stateDir)
    }
    case 'etcdv3': {
      const {EtcdDatastore} = await import('./etcd.js')
      return EtcdDatastore.open(config)
    }
    case 'kubernetes': {
      const {KubernetesDatastore} = await import('./kubernetes.js')
      return KubernetesDatastore.open(config)
    }
  }
}
