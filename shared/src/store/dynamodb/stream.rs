//! The table's change stream as notify reads it: a record's old and new images (the Lambda
//! event's `OldImage`/`NewImage`) back into verifications. Other items (customers, references,
//! webhook events, the feed) are no status change and give nothing.

use serde_dynamo::{AttributeValue, Item};

use crate::domain::Verification;
use crate::service::StreamChange;
use crate::store::StoreError;

fn is_verification(image: &Item) -> bool {
    matches!(image.get("kind"), Some(AttributeValue::S(kind)) if kind == "verification")
}

fn decode(image: &Item) -> Result<Option<Verification>, StoreError> {
    if !is_verification(image) {
        return Ok(None);
    }
    serde_dynamo::from_item(image.clone())
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            what: "a verification image of the stream".into(),
            source: Some(Box::new(e)),
        })
}

/// The change one stream record carries, when it is a verification's.
pub fn stream_change(
    record_id: &str,
    old: &Item,
    new: &Item,
) -> Result<Option<StreamChange>, StoreError> {
    if !is_verification(new) && !is_verification(old) {
        return Ok(None);
    }
    Ok(Some(StreamChange {
        record_id: record_id.to_owned(),
        old: decode(old)?,
        new: decode(new)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::verification::fixtures::fresh;
    use crate::store::dynamodb::verification_to_item;

    fn image(v: &Verification) -> Item {
        Item::from(verification_to_item(v).unwrap())
    }

    #[test]
    fn a_verification_image_decodes_and_other_items_are_skipped() {
        let v = fresh();
        let change = stream_change(
            "1",
            &Item::from(std::collections::HashMap::<String, AttributeValue>::new()),
            &image(&v),
        )
        .unwrap()
        .unwrap();
        assert_eq!(change.new.as_ref(), Some(&v));
        assert!(change.old.is_none());
        let mut customer = image(&v);
        customer.insert("kind".into(), AttributeValue::S("customer".into()));
        assert!(stream_change("2", &customer, &customer).unwrap().is_none());
    }

    #[test]
    fn a_corrupt_verification_image_is_an_error() {
        let mut broken = image(&fresh());
        broken.insert("status".into(), AttributeValue::S("nonsense".into()));
        assert!(stream_change("3", &broken, &broken).is_err());
    }
}
