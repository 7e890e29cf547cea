//! The host side of `wasi:keyvalue@0.2.0-draft2` (`store`, `atomics`, `batch`): a
//! guest opens the stores its sandbox grants; each operation awaits the store's own
//! threads, so it blocks only the guest that waits.

use wasmtime::component::Resource;

use crate::store::{Bucket, CasHandle, StoreError};
use crate::wasm::bindings::wasi::keyvalue::{atomics as ka, batch as kb, store as ks};
use crate::wasm::store::ActorData;

impl From<StoreError> for ks::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchStore(_) => ks::Error::NoSuchStore,
            StoreError::AccessDenied(_) => ks::Error::AccessDenied,
            other => ks::Error::Other(other.to_string()),
        }
    }
}

impl ActorData {
    fn bucket(&self, bucket: &Resource<Bucket>) -> Result<Bucket, ks::Error> {
        self.table
            .get(bucket)
            .cloned()
            .map_err(|e| ks::Error::Other(format!("invalid bucket handle: {e}")))
    }
}

impl ks::Host for ActorData {
    async fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, ks::Error> {
        if !self
            .authority
            .sandbox
            .capabilities
            .grants_store(&identifier)
        {
            tracing::warn!(actor = %self.cell.label, id = %self.cell.id, store = %identifier,
                "access-denied: this actor was not granted the store");
            return Err(ks::Error::AccessDenied);
        }
        let bucket = self.node.stores.get(&identifier)?;
        self.table
            .push(bucket)
            .map_err(|e| ks::Error::Other(format!("cannot hold another bucket handle: {e}")))
    }
}

impl ks::HostBucket for ActorData {
    async fn get(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> Result<Option<Vec<u8>>, ks::Error> {
        Ok(self.bucket(&bucket)?.get(&key).await?)
    }

    async fn set(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), ks::Error> {
        Ok(self.bucket(&bucket)?.set(&key, &value).await?)
    }

    async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Result<(), ks::Error> {
        Ok(self.bucket(&bucket)?.delete(&key).await?)
    }

    async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Result<bool, ks::Error> {
        Ok(self.bucket(&bucket)?.exists(&key).await?)
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<String>,
    ) -> Result<ks::KeyResponse, ks::Error> {
        let page = self.bucket(&bucket)?.list_keys(cursor.as_deref()).await?;
        Ok(ks::KeyResponse {
            keys: page.keys,
            cursor: page.cursor,
        })
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl ka::Host for ActorData {
    async fn increment(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> Result<i64, ks::Error> {
        Ok(self.bucket(&bucket)?.increment(&key, delta).await?)
    }

    async fn swap(&mut self, cas: Resource<CasHandle>, value: Vec<u8>) -> Result<(), ka::CasError> {
        let store = |e: String| ka::CasError::StoreError(ks::Error::Other(e));
        let handle = self
            .table
            .delete(cas)
            .map_err(|e| store(format!("invalid cas handle: {e}")))?;
        let bucket = handle.bucket.clone();
        match bucket.swap(&handle.cas, &value).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(now)) => {
                let again = self
                    .table
                    .push(CasHandle { bucket, cas: now })
                    .map_err(|e| store(format!("cannot hold another cas handle: {e}")))?;
                Err(ka::CasError::CasFailed(again))
            }
            Err(e) => Err(ka::CasError::StoreError(e.into())),
        }
    }
}

impl ka::HostCas for ActorData {
    async fn new(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> Result<Resource<CasHandle>, ks::Error> {
        let bucket = self.bucket(&bucket)?;
        let cas = bucket.cas(&key).await?;
        self.table
            .push(CasHandle { bucket, cas })
            .map_err(|e| ks::Error::Other(format!("cannot hold another cas handle: {e}")))
    }

    async fn current(&mut self, cas: Resource<CasHandle>) -> Result<Option<Vec<u8>>, ks::Error> {
        self.table
            .get(&cas)
            .map(|h| h.cas.value.clone())
            .map_err(|e| ks::Error::Other(format!("invalid cas handle: {e}")))
    }

    async fn drop(&mut self, cas: Resource<CasHandle>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl kb::Host for ActorData {
    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<Vec<Option<(String, Vec<u8>)>>, ks::Error> {
        let values = self.bucket(&bucket)?.get_many(&keys).await?;
        Ok(keys
            .into_iter()
            .zip(values)
            .map(|(key, value)| value.map(|v| (key, v)))
            .collect())
    }

    async fn set_many(
        &mut self,
        bucket: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), ks::Error> {
        Ok(self.bucket(&bucket)?.set_many(&key_values).await?)
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<(), ks::Error> {
        Ok(self.bucket(&bucket)?.delete_many(&keys).await?)
    }
}
