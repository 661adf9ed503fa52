//! S3 implementation of `ObjectStore` on aws-sdk-s3.
