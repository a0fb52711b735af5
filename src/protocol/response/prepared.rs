//! Prepared results (v4/v5 §4.2.5.4): the statement id, the v5 result metadata id, the
//! bind marker metadata and the result metadata.
//!
//! Owns the Prepared layout and its version differences: no partition-key indexes in
//! v3, `result_metadata_id` required in v5 and absent before. The column specs and the
//! result metadata are [`super::rows`]'s. Caching prepared statements is the driver's job.

use bytes::{BufMut, Bytes, BytesMut};

use super::rows::{self, ColumnSpec, RowsMetadata, TableSpec};
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::header::Version;
use crate::protocol::wire::{self, Reader};

// spec v5 §4.2.5.4: the only flag of the bind marker metadata.
const GLOBAL_TABLES_SPEC: i32 = 0x0001;

/// A prepared statement, as the server describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The statement id to EXECUTE.
    pub id: Bytes,
    /// v5 only (and required there): the id of the result metadata, sent back in
    /// EXECUTE so the server can tell when it changed.
    pub result_metadata_id: Option<Bytes>,
    /// The bind markers.
    pub metadata: PreparedMetadata,
    /// The columns an EXECUTE will return (often No_metadata with no columns for
    /// statements that are not SELECTs).
    pub result_metadata: RowsMetadata,
}

/// The bind markers of a prepared statement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PreparedMetadata {
    /// The table every marker belongs to, when sent in the global form; every column
    /// must then match it.
    pub global_table_spec: Option<TableSpec>,
    /// v4+: for each partition key column in order, the index of the marker that binds
    /// it. Empty when some key column has no plain marker (and always in v3).
    pub pk_indexes: Vec<u16>,
    /// One spec per bind marker.
    pub columns: Vec<ColumnSpec>,
}

impl PreparedMetadata {
    /// Metadata for these markers; the global table spec is used when they all belong
    /// to one table.
    pub fn new(columns: Vec<ColumnSpec>, pk_indexes: Vec<u16>) -> PreparedMetadata {
        PreparedMetadata { global_table_spec: rows::common_table(&columns), pk_indexes, columns }
    }

    pub(crate) fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_i32(if self.global_table_spec.is_some() { GLOBAL_TABLES_SPEC } else { 0 });
        wire::put_int_len(buf, self.columns.len(), "prepared columns_count")?;
        // spec v4 §10: the partition-key indexes are new in v4.
        if version >= Version::V4 {
            wire::put_int_len(buf, self.pk_indexes.len(), "pk_count")?;
            for i in &self.pk_indexes {
                buf.put_u16(*i);
            }
        } else if !self.pk_indexes.is_empty() {
            return Err(EncodeError::NotInVersion { what: "pk_indexes", version });
        }
        rows::encode_columns(buf, version, self.global_table_spec.as_ref(), &self.columns)
    }

    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<PreparedMetadata, DecodeError> {
        let flags = r.read_i32("prepared metadata flags")?;
        let global = flags & GLOBAL_TABLES_SPEC != 0;
        let n = r.read_count_i32("prepared columns_count", rows::min_column_spec_len(global))?;
        let pk_indexes = if version >= Version::V4 {
            let pk_count = r.read_count_i32("pk_count", 2)?;
            let mut v = Vec::with_capacity(pk_count);
            for _ in 0..pk_count {
                v.push(r.read_u16("pk_index")?);
            }
            v
        } else {
            Vec::new()
        };
        let (global_table_spec, columns) = rows::decode_columns(r, version, global, n)?;
        Ok(PreparedMetadata { global_table_spec, pk_indexes, columns })
    }
}

impl Prepared {
    pub(crate) fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        wire::put_short_bytes(buf, &self.id, "prepared id")?;
        // spec v5 §9: v5 added the result metadata id.
        match (&self.result_metadata_id, version >= Version::V5) {
            (Some(id), true) => wire::put_short_bytes(buf, id, "result_metadata_id")?,
            (None, false) => {}
            (Some(_), false) => return Err(EncodeError::NotInVersion { what: "result_metadata_id", version }),
            (None, true) => {
                return Err(EncodeError::Invalid {
                    what: "result_metadata_id",
                    detail: "a v5 Prepared result must carry one".into(),
                });
            }
        }
        self.metadata.encode(version, buf)?;
        self.result_metadata.encode(version, buf)
    }

    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<Prepared, DecodeError> {
        let id = r.read_short_bytes("prepared id")?;
        let result_metadata_id =
            if version >= Version::V5 { Some(r.read_short_bytes("result_metadata_id")?) } else { None };
        let metadata = PreparedMetadata::decode(version, r)?;
        let result_metadata = RowsMetadata::decode(version, r)?;
        Ok(Prepared { id, result_metadata_id, metadata, result_metadata })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::column_type::ColumnType;
    use crate::protocol::header::Opcode;
    use crate::protocol::response::testing::*;
    use crate::protocol::response::{Response, ResultBody};

    fn prepared(p: Prepared) -> Response {
        Response::Result(ResultBody::Prepared(Box::new(p)))
    }

    fn v5_prepared() -> Prepared {
        Prepared {
            id: Bytes::from_static(&[0xca, 0xfe]),
            result_metadata_id: Some(Bytes::from_static(&[0x01])),
            metadata: PreparedMetadata::new(
                vec![
                    ColumnSpec::new("ks", "t", "id", ColumnType::Int),
                    ColumnSpec::new("ks", "t", "v", ColumnType::Varchar),
                ],
                vec![0],
            ),
            result_metadata: RowsMetadata::new(vec![ColumnSpec::new("ks", "t", "v", ColumnType::Varchar)]),
        }
    }

    #[test]
    fn v5_vector() {
        #[rustfmt::skip]
        let body = [
            0x00, 0x00, 0x00, 0x04,                 // RESULT kind: Prepared
            0x00, 0x02, 0xca, 0xfe,                 // id
            0x00, 0x01, 0x01,                       // result_metadata_id
            0x00, 0x00, 0x00, 0x01,                 // flags: Global_tables_spec
            0x00, 0x00, 0x00, 0x02,                 // 2 bind markers
            0x00, 0x00, 0x00, 0x01,                 // pk_count 1
            0x00, 0x00,                             // pk_index 0
            0x00, 0x02, b'k', b's', 0x00, 0x01, b't',
            0x00, 0x02, b'i', b'd', 0x00, 0x09,     // "id" int
            0x00, 0x01, b'v', 0x00, 0x0d,           // "v" varchar
            0x00, 0x00, 0x00, 0x01,                 // result metadata flags: Global_tables_spec
            0x00, 0x00, 0x00, 0x01,                 // 1 column
            0x00, 0x02, b'k', b's', 0x00, 0x01, b't',
            0x00, 0x01, b'v', 0x00, 0x0d,           // "v" varchar
        ];
        check_vector(Version::V5, &body, &prepared(v5_prepared()));
        // Not encodable before v5 with the id; not in v5 without it.
        assert!(matches!(
            encode(&prepared(v5_prepared()), Version::V4),
            Err(EncodeError::NotInVersion { what: "result_metadata_id", .. })
        ));
        let no_id = Prepared { result_metadata_id: None, ..v5_prepared() };
        assert!(matches!(encode(&prepared(no_id.clone()), Version::V5), Err(EncodeError::Invalid { .. })));
        let v4 = encode(&prepared(no_id.clone()), Version::V4).unwrap();
        assert_eq!(decode(Opcode::Result, Version::V4, &v4), Ok(prepared(no_id)));
    }

    #[test]
    fn v3_vector_has_no_pk_indexes() {
        #[rustfmt::skip]
        let body = [
            0x00, 0x00, 0x00, 0x04,                 // RESULT kind: Prepared
            0x00, 0x01, 0x07,                       // id
            0x00, 0x00, 0x00, 0x00,                 // flags: none
            0x00, 0x00, 0x00, 0x01,                 // 1 bind marker
            0x00, 0x02, b'k', b's', 0x00, 0x01, b't', 0x00, 0x02, b'i', b'd', 0x00, 0x09,
            0x00, 0x00, 0x00, 0x04,                 // result metadata: No_metadata
            0x00, 0x00, 0x00, 0x00,                 // 0 columns
        ];
        let p = Prepared {
            id: Bytes::from_static(&[7]),
            result_metadata_id: None,
            metadata: PreparedMetadata {
                global_table_spec: None,
                pk_indexes: vec![],
                columns: vec![ColumnSpec::new("ks", "t", "id", ColumnType::Int)],
            },
            result_metadata: RowsMetadata::no_metadata(0),
        };
        check_vector(Version::V3, &body, &prepared(p.clone()));
        let with_pk = Prepared { metadata: PreparedMetadata { pk_indexes: vec![0], ..p.metadata.clone() }, ..p };
        assert!(matches!(
            encode(&prepared(with_pk.clone()), Version::V3),
            Err(EncodeError::NotInVersion { what: "pk_indexes", .. })
        ));
        encode(&prepared(with_pk), Version::V4).unwrap();
    }

    #[test]
    fn hostile_counts() {
        let head = [0u8, 0, 0, 4, 0, 1, 7, 0, 0, 0, 0];
        for (cols, pks) in [(i32::MAX, 0), (-1, 0), (0, i32::MAX), (0, -1), (1, 0)] {
            let mut b = head.to_vec();
            b.extend_from_slice(&cols.to_be_bytes());
            b.extend_from_slice(&pks.to_be_bytes());
            b.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0]);
            assert!(decode(Opcode::Result, Version::V4, &b).is_err(), "{cols} {pks}");
        }
    }
}
