"""The names TRQL accepts as functions (``TSQL_CLICKHOUSE_FUNCTIONS``) and aggregations
(``TSQL_AGGREGATIONS``) in ``internal-packages/tsql/src/query/functions.ts`` at ``b082e443``,
looked up case-insensitively as the server does: a name outside them is ``Unknown function:
<name>``; a name in them that the emulator does not model is its own "not supported" error."""

from __future__ import annotations

__all__ = ["AGGREGATIONS", "FUNCTIONS"]

FUNCTIONS = frozenset(
    name.lower()
    for name in """
    equals notEquals less greater lessOrEquals greaterOrEquals and or xor not if multiIf in
    notIn plus minus multiply divide intDiv intDivOrZero modulo moduloOrZero positiveModulo
    negate abs gcd lcm exp log ln exp2 log2 exp10 log10 sqrt cbrt erf erfc lgamma tgamma sin
    cos tan asin acos atan pow power round floor ceil ceiling trunc truncate sign empty
    notEmpty length lengthUTF8 char_length character_length lower upper lowerUTF8 upperUTF8
    reverse reverseUTF8 concat concatAssumeInjective substring substr mid substringUTF8
    appendTrailingCharIfAbsent convertCharset base58Encode base58Decode base64Encode
    base64Decode tryBase64Decode endsWith startsWith trim trimLeft trimRight ltrim rtrim
    leftPad rightPad leftPadUTF8 rightPadUTF8 left right repeat space replace replaceOne
    replaceAll replaceRegexpOne replaceRegexpAll position positionCaseInsensitive
    positionUTF8 positionCaseInsensitiveUTF8 locate match multiMatchAny multiMatchAnyIndex
    multiMatchAllIndices multiSearchFirstPosition multiSearchFirstIndex multiSearchAny
    extract extractAll extractAllGroupsHorizontal extractAllGroupsVertical like ilike
    notLike notILike splitByChar splitByString splitByRegexp arrayStringConcat format
    coalesce ifNull nullIf assumeNotNull toNullable isNull isNotNull toString toFixedString
    toUInt8 toUInt16 toUInt32 toUInt64 toInt8 toInt16 toInt32 toInt64 toInt128 toInt256
    toUInt128 toUInt256 toFloat32 toFloat64 toDecimal32 toDecimal64 toDecimal128
    toDecimal256 toDate toDateOrNull toDateOrZero toDate32 toDate32OrNull toDate32OrZero
    toDateTime toDateTimeOrNull toDateTimeOrZero toDateTime64 toDateTime64OrNull
    toDateTime64OrZero toUUID toUUIDOrNull toUUIDOrZero toTypeName now now64 today yesterday
    toYear toQuarter toMonth toDayOfYear toDayOfMonth toDayOfWeek toHour toMinute toSecond
    toUnixTimestamp toStartOfYear toStartOfQuarter toStartOfMonth toMonday toStartOfWeek
    toStartOfDay toStartOfHour toStartOfMinute toStartOfSecond toStartOfFiveMinutes
    toStartOfTenMinutes toStartOfFifteenMinutes toStartOfInterval toTime toISOYear toISOWeek
    toWeek toYearWeek date_add date_diff date_sub date_trunc dateDiff dateAdd dateSub
    dateTrunc addSeconds addMinutes addHours addDays addWeeks addMonths addQuarters addYears
    subtractSeconds subtractMinutes subtractHours subtractDays subtractWeeks subtractMonths
    subtractQuarters subtractYears toTimeZone formatDateTime parseDateTime
    parseDateTimeBestEffort parseDateTimeBestEffortOrNull parseDateTimeBestEffortOrZero
    parseDateTime64BestEffort parseDateTime64BestEffortOrNull
    parseDateTime64BestEffortOrZero toIntervalSecond toIntervalMinute toIntervalHour
    toIntervalDay toIntervalWeek toIntervalMonth toIntervalQuarter toIntervalYear array
    range arrayElement has hasAll hasAny hasSubstr indexOf arrayCount countEqual
    arrayEnumerate arrayEnumerateDense arrayEnumerateUniq arrayEnumerateUniqRanked
    arrayPopBack arrayPopFront arrayPushBack arrayPushFront arrayResize arraySlice arraySort
    arrayPartialSort arrayReverseSort arrayPartialReverseSort arrayShuffle arrayUniq
    arrayJoin arrayDifference arrayDistinct arrayIntersect arrayReduce arrayReverse
    arrayFlatten arrayCompact arrayZip arrayMin arrayMax arraySum arrayAvg arrayCumSum
    arrayCumSumNonNegative arrayProduct JSONHas JSONLength JSONType JSONExtractUInt
    JSONExtractInt JSONExtractFloat JSONExtractBool JSONExtractString JSONExtract
    JSONExtractRaw JSONExtractArrayRaw JSONExtractKeysAndValues JSONExtractKeys toJSONString
    tuple tupleElement untuple map mapFromArrays mapContains mapKeys mapValues MD5 SHA1
    SHA224 SHA256 SHA384 SHA512 sipHash64 sipHash128 cityHash64 intHash32 intHash64
    farmHash64 farmFingerprint64 xxHash32 xxHash64 murmurHash2_32 murmurHash2_64
    murmurHash3_32 murmurHash3_64 murmurHash3_128 hex unhex protocol domain domainWithoutWWW
    topLevelDomain firstSignificantSubdomain cutToFirstSignificantSubdomain
    cutToFirstSignificantSubdomainWithWWW port path pathFull queryString fragment
    extractURLParameter extractURLParameters encodeURLComponent decodeURLComponent
    generateUUIDv4 UUIDStringToNum UUIDNumToString isFinite isInfinite ifNotFinite isNaN bar
    transform formatReadableDecimalSize formatReadableSize formatReadableQuantity
    formatReadableTimeDelta least greatest min2 max2 runningDifference
    runningDifferenceStartingWithFirstValue neighbor rank dense_rank row_number first_value
    last_value nth_value lagInFrame leadInFrame lag lead
""".split()
)
AGGREGATIONS = frozenset(
    name.lower()
    for name in """
    count countIf countDistinct countDistinctIf min minIf max maxIf sum sumIf avg avgIf any
    anyIf anyLast anyLastIf anyHeavy anyHeavyIf argMin argMinIf argMax argMaxIf stddevPop
    stddevSamp varPop varSamp covarPop covarSamp corr groupArray groupArrayIf groupUniqArray
    groupUniqArrayIf groupArrayInsertAt groupArrayMovingAvg groupArrayMovingSum
    groupArraySample array_agg groupBitmap groupBitmapAnd groupBitmapOr groupBitmapXor uniq
    uniqIf uniqExact uniqExactIf uniqHLL12 uniqTheta median medianIf medianExact quantile
    quantileIf quantiles quantilesMerge quantileMerge quantilesTDigestMerge sumMerge
    avgMerge countMerge minMerge maxMerge deltaSumTimestampMerge simpleLinearRegression
    contingency cramersV theilsU sumMap minMap maxMap topK windowFunnel
""".split()
)
