package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// s3Backend reads an object with ranged GetObject calls.
type s3Backend struct {
	client      *s3.Client
	bucket, key string
	name        string // s3://bucket/key, for messages
}

// S3Options address an S3-compatible store; empty fields fall back to the
// SDK's usual sources (AWS_REGION, AWS_ENDPOINT_URL, ~/.aws/config, ...).
type S3Options struct {
	Endpoint  string // e.g. http://127.0.0.1:7070 for a local store
	Region    string
	PathStyle bool // bucket in the path, not the host name
}

func newS3Backend(ctx context.Context, u *url.URL, o S3Options) (*s3Backend, error) {
	name := u.String()
	bucket := u.Host
	key := strings.TrimPrefix(u.Path, "/")
	if bucket == "" || key == "" {
		return nil, fmt.Errorf("%s: %w: want s3://BUCKET/KEY", name, ErrProtocol)
	}
	opts := []func(*config.LoadOptions) error{
		// A buildable client, so that AWS_CA_BUNDLE can add its roots.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(tuneTransport)),
		// Retries are ours, the same for every backend: one policy, and
		// no retry storm of two nested retryers.
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: AWS configuration: %w", name, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		endpoint := aws.ToString(so.BaseEndpoint)
		// A bucket cannot be a subdomain of an IP address or localhost.
		so.UsePathStyle = o.PathStyle || literalHost(endpoint)
		// Ranged GETs carry no whole-object checksum to check.
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		so.DisableLogOutputChecksumValidationSkipped = true
	})
	return &s3Backend{client: client, bucket: bucket, key: key, name: name}, nil
}

// literalHost tells whether an endpoint URL names its host by IP address or
// as localhost.
func literalHost(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || net.ParseIP(h) != nil
}

func (b *s3Backend) get(ctx context.Context, r rangeRequest) (rangeResponse, error) {
	in := &s3.GetObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(b.key),
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", r.Off, r.Off+r.N-1)),
	}
	if r.IfMatch != "" {
		in.IfMatch = aws.String(r.IfMatch)
	}
	if r.IfNoneMatch != "" {
		in.IfNoneMatch = aws.String(r.IfNoneMatch)
	}
	what := "GetObject " + b.name
	out, err := b.client.GetObject(ctx, in)
	if err != nil {
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			switch st := re.HTTPStatusCode(); st {
			case 304:
				return rangeResponse{NotModified: true}, nil
			case 416:
				// An empty object: only a whole-object GET tells its size.
				return b.empty(ctx, r, what)
			default:
				return rangeResponse{}, fmt.Errorf("%w: %v", statusError(st, what), re.Err)
			}
		}
		var se *smithyhttp.RequestSendError
		if errors.As(err, &se) || isTransient(err) {
			return rangeResponse{}, transientUnlessCanceled(ctx, fmt.Errorf("%s: %w", what, err))
		}
		// Missing credentials, a bad endpoint: retrying will not help.
		return rangeResponse{}, fmt.Errorf("%s: %w", what, err)
	}
	defer out.Body.Close()
	info := objectInfo{ETag: aws.ToString(out.ETag), Version: aws.ToString(out.VersionId)}
	if out.LastModified != nil {
		info.LastModified = *out.LastModified
	}
	cr := aws.ToString(out.ContentRange)
	if cr == "" {
		// The whole object came back.
		n := aws.ToInt64(out.ContentLength)
		if r.Off != 0 || n > r.N {
			return rangeResponse{}, fmt.Errorf("%s: %w", what, ErrNoRange)
		}
		info.Size = n
		if n == 0 {
			io.Copy(io.Discard, out.Body)
			return rangeResponse{Info: info}, nil
		}
		return readRange(out.Body, r, 0, n-1, info, what)
	}
	start, end, total, err := parseContentRange(cr)
	if err != nil {
		return rangeResponse{}, fmt.Errorf("%s: %w", what, err)
	}
	info.Size = total
	return readRange(out.Body, r, start, end, info, what)
}

// empty answers a range request on an object with no bytes.
func (b *s3Backend) empty(ctx context.Context, r rangeRequest, what string) (rangeResponse, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(b.key)})
	if err != nil {
		return rangeResponse{}, transientUnlessCanceled(ctx, fmt.Errorf("%s: %w", what, err))
	}
	if n := aws.ToInt64(out.ContentLength); n > r.Off {
		return rangeResponse{}, fmt.Errorf("%s: %w: range not satisfiable on %d bytes", what, ErrProtocol, n)
	}
	info := objectInfo{ETag: aws.ToString(out.ETag), Size: aws.ToInt64(out.ContentLength)}
	if out.LastModified != nil {
		info.LastModified = *out.LastModified
	}
	return rangeResponse{Info: info}, nil
}
